/* Charts of the cockpit and the monthly report, drawn with Apache ECharts (static/vendor/echarts): the map of a
 * jurisdiction's districts coloured red/orange/yellow/green, and line and bar charts of monthly figures.
 *
 * Every chart has a table of its data beside it: screen readers read it while the chart shows, and its
 * "表格 / Table" button shows it instead of the chart (to copy the numbers). A page declares a chart with no script
 * of its own (CSP-friendly: no inline handlers, the data in a JSON element):
 *
 *   <figure class="chart" data-chart="region-map|line|bar" data-chart-data="ID"> … </figure>
 *   {{ data|json_script:"ID" }}
 *
 * with this file as <script src=".../js/charts.js" data-echarts=".../vendor/echarts/echarts.min.js" defer>: it
 * loads ECharts once, however many charts include it (templates/reports/_region_map.html and _chart.html do all
 * of it). Charts in content htmx swaps in are drawn as well. A click on a district sends a `chart:region` event ({code, name}) from
 * the figure, and opens data.href with {code} filled in when the page gave one. Scripts may also call
 * Charts.regionMap(el, options), Charts.lineChart(el, options) and Charts.barChart(el, options).
 */
(function () {
  "use strict";
  if (window.Charts) return; // every chart's include brings this file; once is enough

  var script = document.currentScript;
  var echartsSrc = script && script.dataset.echarts;
  var loading = null;

  // The same colours and hatchings as reports/svg.py (the printed report). The hatching tells the four apart
  // without colour vision; the legend, the tooltip and the table say them in words.
  var PALETTE = { red: "#d73027", orange: "#f28e2b", yellow: "#f6d04d", green: "#3e9f4d", "": "#d9dde3" };
  var INK = "rgba(0,0,0,0.3)";
  var DECALS = {
    red: { symbol: "rect", symbolSize: 1, dashArrayX: [1, 0], dashArrayY: [1, 3], rotation: Math.PI / 4, color: INK },
    orange: { symbol: "rect", symbolSize: 1, dashArrayX: [1, 0], dashArrayY: [1, 6], rotation: -Math.PI / 4, color: INK },
    yellow: { symbol: "circle", symbolSize: 0.5, dashArrayX: [[4, 3]], dashArrayY: [4, 3], color: INK },
    green: { symbol: "none" },
    "": { symbol: "none" },
  };
  var SWATCHES = {
    red: "repeating-linear-gradient(45deg, " + INK + " 0 1px, transparent 1px 4px)",
    orange: "repeating-linear-gradient(-45deg, " + INK + " 0 1px, transparent 1px 7px)",
    yellow: "radial-gradient(" + INK + " 1px, transparent 1.3px) 0 0 / 5px 5px",
    green: "none",
  };
  var COLOURS = ["red", "orange", "yellow", "green"];
  var SERIES = ["#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4"];
  var TEXTS = {
    table: "表格 / Table",
    chart: "图表 / Chart",
    region: "区域 / Region",
    colour: "颜色 / Colour",
    noData: "未评级 / Not graded",
    mapError: "地图无法加载 / The map could not be loaded",
    colours: { red: "红 / Red", orange: "橙 / Orange", yellow: "黄 / Yellow", green: "绿 / Green" },
  };
  var maps = {}; // map URL → promise of its registered name

  function withEcharts() {
    if (window.echarts) return Promise.resolve(window.echarts);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        if (!echartsSrc) return reject(new Error("charts.js: no data-echarts on its script element"));
        var tag = document.createElement("script");
        tag.src = echartsSrc;
        tag.onload = function () {
          resolve(window.echarts);
        };
        tag.onerror = function () {
          loading = null;
          reject(new Error("charts.js: " + echartsSrc + " did not load"));
        };
        document.head.appendChild(tag);
      });
    }
    return loading;
  }

  function text(options, key) {
    return (options.texts && options.texts[key]) || TEXTS[key];
  }

  function formatNumber(value) {
    if (value === null || value === undefined || value === "") return "–";
    if (typeof value !== "number") return String(value);
    var lang = document.documentElement.lang || "zh-CN";
    return new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(value);
  }

  function make(tag, className, content) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (content !== undefined) el.textContent = content;
    return el;
  }

  // The figure's parts, reusing those the template rendered (its table above all) and adding the others.
  function frame(el, kind, options) {
    el.classList.add("chart");
    el.dataset.chart = kind;
    var tools = el.querySelector(".chart-tools");
    if (!tools) {
      tools = make("div", "chart-tools");
      if (options.caption) tools.appendChild(make("span", "chart-caption", options.caption));
      el.insertBefore(tools, el.firstChild);
    }
    var toggle = tools.querySelector("[data-chart-toggle]");
    if (!toggle) {
      toggle = make("button", "secondary outline small", text(options, "table"));
      toggle.type = "button";
      toggle.setAttribute("data-chart-toggle", "");
      tools.appendChild(toggle);
    }
    var canvas = el.querySelector(".chart-canvas");
    if (!canvas) {
      canvas = make("div", "chart-canvas");
      tools.insertAdjacentElement("afterend", canvas);
    }
    canvas.setAttribute("aria-hidden", "true"); // the table carries the same data for screen readers
    var table = el.querySelector(".chart-table");
    if (!table) {
      table = make("div", "chart-table");
      el.appendChild(table);
    }
    if (!table.id) table.id = (el.id || "chart-" + Math.random().toString(36).slice(2)) + "-table";
    toggle.setAttribute("aria-controls", table.id);
    toggle.setAttribute("aria-pressed", "false");
    el.dataset.view = "chart";
    toggle.addEventListener("click", function () {
      var showTable = el.dataset.view !== "table";
      el.dataset.view = showTable ? "table" : "chart";
      toggle.setAttribute("aria-pressed", String(showTable));
      toggle.textContent = text(options, showTable ? "chart" : "table");
      if (!showTable) {
        var chart = window.echarts.getInstanceByDom(canvas);
        if (chart) chart.resize();
      }
    });
    return { canvas: canvas, table: table };
  }

  function fillTable(container, caption, head, rows) {
    if (container.querySelector("table")) return; // rendered by the template
    var table = make("table", "striped");
    if (caption) table.appendChild(make("caption", "", caption));
    var headRow = table.createTHead().insertRow();
    head.forEach(function (label, index) {
      var th = make("th", index ? "number" : "", label);
      th.scope = "col";
      headRow.appendChild(th);
    });
    var body = table.createTBody();
    rows.forEach(function (row) {
      var tr = body.insertRow();
      row.forEach(function (cell, index) {
        var td = index ? tr.insertCell() : make("th");
        if (!index) {
          td.scope = "row";
          tr.appendChild(td);
        }
        if (cell instanceof Node) td.appendChild(cell);
        else td.textContent = index && typeof cell === "number" ? formatNumber(cell) : cell;
        if (index && typeof cell === "number") td.className = "number";
      });
    });
    container.appendChild(table);
  }

  function draw(canvas, option, el) {
    var chart = window.echarts.getInstanceByDom(canvas) || window.echarts.init(canvas, null, { renderer: "svg" });
    chart.on("finished", function ready() {
      chart.off("finished", ready);
      el.dataset.chartReady = "true";
    });
    chart.setOption(option, true);
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        chart.resize();
      }).observe(canvas);
    }
    return chart;
  }

  function loadMap(url) {
    if (!maps[url]) {
      maps[url] = fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(url + ": " + response.status);
          return response.json();
        })
        .then(function (geojson) {
          window.echarts.registerMap(url, geojson);
          return url;
        });
      maps[url].catch(function () {
        delete maps[url]; // the next chart asks again
      });
    }
    return maps[url];
  }

  function legend(el, options, regions) {
    var list = el.querySelector(".chart-legend");
    if (!list) {
      list = make("ul", "chart-legend");
      el.querySelector(".chart-canvas").insertAdjacentElement("afterend", list);
    }
    if (list.children.length) return;
    var palette = options.palette || PALETTE;
    var entries = options.legend || COLOURS.map(function (colour) {
      var count = regions.filter(function (r) { return r.colour === colour; }).length;
      return { colour: colour, label: TEXTS.colours[colour], count: count };
    });
    entries.forEach(function (entry) {
      var item = make("li");
      item.dataset.colour = entry.colour;
      var swatch = make("span", "chart-swatch");
      swatch.style.backgroundColor = entry.hex || palette[entry.colour];
      swatch.style.background = SWATCHES[entry.colour] + ", " + (entry.hex || palette[entry.colour]);
      item.appendChild(swatch);
      item.appendChild(make("span", "", entry.label + (entry.count !== undefined ? " (" + entry.count + ")" : "")));
      list.appendChild(item);
    });
  }

  /* The districts of options.mapUrl coloured by options.regions ([{code, name, colour, colourLabel, value,
   * figures}]), with a legend, tooltips and the table; options.onClick(code, name) on a click. */
  function regionMap(el, options) {
    var regions = options.regions || [];
    var palette = options.palette || PALETTE;
    var columns = options.columns || [];
    var byCode = {};
    regions.forEach(function (region) {
      byCode[region.code] = region;
    });
    var parts = frame(el, "region-map", options);
    legend(el, options, regions);
    var colourLabel = function (region) {
      return region.colourLabel || TEXTS.colours[region.colour] || text(options, "noData");
    };
    fillTable(
      parts.table,
      options.caption,
      [text(options, "region"), text(options, "colour"), options.valueLabel || ""].concat(columns),
      regions.map(function (region) {
        var name = region.name;
        if (options.href) {
          name = make("a", "", region.name);
          name.href = options.href.replace("{code}", encodeURIComponent(region.code));
        }
        return [name, colourLabel(region), region.value].concat(region.figures || []);
      })
    );
    return loadMap(options.mapUrl).then(
      function (mapName) {
        var encode = window.echarts.format.encodeHTML;
        var names = {};
        (window.echarts.getMap(mapName).geoJSON.features || []).forEach(function (feature) {
          names[feature.properties.code] = feature.properties.name;
        });
        var chart = draw(
          parts.canvas,
          {
            animation: false,
            aria: { enabled: true, decal: { show: true } },
            tooltip: {
              trigger: "item",
              formatter: function (params) {
                var region = byCode[params.name];
                var lines = ["<strong>" + encode(names[params.name] || params.name) + "</strong>"];
                if (!region) return lines.concat(encode(text(options, "noData"))).join("<br>");
                lines.push(encode(colourLabel(region)));
                if (options.valueLabel) lines.push(encode(options.valueLabel) + ": " + formatNumber(region.value));
                columns.forEach(function (column, index) {
                  lines.push(encode(column) + ": " + formatNumber((region.figures || [])[index]));
                });
                return lines.join("<br>");
              },
            },
            series: [
              {
                type: "map",
                map: mapName,
                nameProperty: "code",
                roam: false,
                selectedMode: false,
                top: 8,
                bottom: 8,
                label: {
                  show: true,
                  fontSize: 11,
                  color: "#111827",
                  textBorderColor: "rgba(255,255,255,0.85)",
                  textBorderWidth: 2,
                  formatter: function (params) {
                    return names[params.name] || params.name;
                  },
                },
                itemStyle: { areaColor: palette[""], borderColor: "#ffffff", borderWidth: 1, decal: DECALS[""] },
                emphasis: { label: { fontWeight: "bold" }, itemStyle: { borderColor: "#111827", borderWidth: 2 } },
                data: Object.keys(names).map(function (code) {
                  var colour = byCode[code] ? byCode[code].colour || "" : "";
                  var fill = palette[colour] || palette[""];
                  return {
                    name: code,
                    value: byCode[code] ? byCode[code].value : null,
                    itemStyle: { areaColor: fill, decal: DECALS[colour] || DECALS[""] },
                    emphasis: { itemStyle: { areaColor: fill } },
                  };
                }),
              },
            ],
          },
          el
        );
        chart.on("click", function (params) {
          if (params.seriesType !== "map") return;
          var code = params.name;
          if (options.onClick) options.onClick(code, names[code]);
        });
        return chart;
      },
      function (error) {
        parts.canvas.classList.add("chart-failed");
        parts.canvas.removeAttribute("aria-hidden");
        parts.canvas.textContent = text(options, "mapError");
        el.dataset.chartReady = "failed";
        throw error;
      }
    );
  }

  function seriesChart(kind) {
    /* options: {categories: ["2026-01", …], series: [{name, values}], unit, categoryLabel, caption} */
    return function (el, options) {
      var categories = options.categories || [];
      var series = options.series || [];
      var parts = frame(el, kind, options);
      var unit = options.unit ? " (" + options.unit + ")" : "";
      fillTable(
        parts.table,
        options.caption,
        [options.categoryLabel || ""].concat(
          series.map(function (s) {
            return s.name + unit;
          })
        ),
        categories.map(function (category, index) {
          return [category].concat(
            series.map(function (s) {
              return s.values[index];
            })
          );
        })
      );
      var whole = series.every(function (s) {
        return s.values.every(function (v) {
          return v === null || Number.isInteger(v);
        });
      });
      return draw(
        parts.canvas,
        {
          color: SERIES,
          tooltip: { trigger: "axis", valueFormatter: formatNumber },
          legend: { top: 0 },
          grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
          xAxis: { type: "category", data: categories },
          yAxis: { type: "value", name: options.unit || "", minInterval: whole ? 1 : 0 },
          series: series.map(function (s) {
            return {
              type: kind,
              name: s.name,
              data: s.values,
              label: {
                show: categories.length <= 12,
                position: "top",
                formatter: function (p) {
                  return formatNumber(p.value);
                },
              },
            };
          }),
        },
        el
      );
    };
  }

  function afterEcharts(build) {
    return function (el, options) {
      return withEcharts().then(function () {
        return build(el, options);
      });
    };
  }

  var Charts = {
    regionMap: afterEcharts(regionMap),
    lineChart: afterEcharts(seriesChart("line")),
    barChart: afterEcharts(seriesChart("bar")),
  };
  var BUILDERS = { "region-map": Charts.regionMap, line: Charts.lineChart, bar: Charts.barChart };

  // A chart declared in the page: its data from the JSON element, a click told to the page.
  function mount(el) {
    if (el.dataset.chartMounted) return;
    var build = BUILDERS[el.dataset.chart];
    var source = document.getElementById(el.dataset.chartData);
    if (!build || !source) return;
    el.dataset.chartMounted = "true";
    var options = JSON.parse(source.textContent);
    var texts = {}; // the words the template translated: data-text-table, data-text-chart…
    Object.keys(el.dataset).forEach(function (key) {
      if (key.indexOf("text") === 0 && key.length > 4) texts[key.charAt(4).toLowerCase() + key.slice(5)] = el.dataset[key];
    });
    options.texts = Object.assign(texts, options.texts || {});
    options.onClick = function (code, name) {
      el.dispatchEvent(new CustomEvent("chart:region", { bubbles: true, detail: { code: code, name: name } }));
      if (options.href) window.location.assign(options.href.replace("{code}", encodeURIComponent(code)));
    };
    build(el, options).catch(function (error) {
      if (window.console) console.error(error);
    });
  }

  function mountAll(root) {
    (root || document).querySelectorAll("[data-chart][data-chart-data]").forEach(mount);
  }

  Charts.mount = mount;
  Charts.mountAll = mountAll;
  window.Charts = Charts;

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { mountAll(); });
  else mountAll();
  document.addEventListener("htmx:load", function (event) {
    mountAll(event.target);
  });
})();
