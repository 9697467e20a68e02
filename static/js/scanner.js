/* Camera reader of the phone pages: a "Scan" button beside every field marked data-scan reads a bike's or battery's
 * QR label or a 1-D bar code (Code 128, Code 39, EAN) into the field; typing stays the fallback.
 *
 * data-scan="frame" a frame number (15 digits) | "battery" a battery code | "code" a public code | "any" either.
 * A QR label encodes https://<host>/v/<code>; the field gets the code and the form resolves it to what it names.
 * A textarea gets one code per line; an input is replaced. The same events as typing follow, so the page's live
 * checks (htmx) run. A label read into a frame or "any" field also fills the empty data-scan="code" fields of
 * its form: the scan is the proof that the bike is at hand (a battery's code there is ignored by the service). The
 * reading library is loaded on the first tap only.
 */
(function () {
  "use strict";

  var dialog = document.getElementById("scanner");
  var fields = document.querySelectorAll("input[data-scan], textarea[data-scan]");
  if (!dialog || !fields.length) return;
  var texts = dialog.dataset;
  var video = dialog.querySelector("video");
  var status = dialog.querySelector("[role=status]");

  var LABEL = /^https?:\/\/[^/\s]+\/v\/([0-9A-Z]+)\/?$/i;
  var SHAPES = {
    frame: /^\d{15}$/,
    battery: /^[0-9A-Z][0-9A-Z-]{5,47}$/,
    code: /^[0-9A-Z]{13}$/,
    any: /^[0-9A-Z][0-9A-Z-]{5,47}$/,
  };

  // What a read gives this field: {value, label} or null when it is not a code the field takes.
  function reading(text, kind) {
    var raw = String(text || "").trim();
    var label = LABEL.exec(raw);
    if (label) return { value: label[1].toUpperCase(), label: true };
    var value = raw.toUpperCase();
    return (SHAPES[kind] || SHAPES.any).test(value) ? { value: value, label: false } : null;
  }

  function typed(field) {
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function fill(field, value) {
    if (field.tagName === "TEXTAREA") {
      var lines = field.value.split(/[\s,，;；]+/).filter(Boolean);
      if (lines.indexOf(value) >= 0) return;
      field.value = field.value.replace(/\s*$/, "") + (field.value.trim() ? "\n" : "") + value + "\n";
    } else {
      field.value = value;
    }
    typed(field);
  }

  function fillProof(field, code) {
    if (!field.form) return;
    field.form.querySelectorAll('input[data-scan="code"]').forEach(function (proof) {
      if (proof !== field && !proof.value.trim()) fill(proof, code);
    });
  }

  // Messages next to the field (the camera refused or absent) stay until the next tap.
  function say(field, text) {
    var group = field.closest("[data-scan-group]");
    var note = group.nextElementSibling;
    if (!note || !note.hasAttribute("data-scan-message")) {
      note = document.createElement("small");
      note.setAttribute("data-scan-message", "");
      note.setAttribute("role", "alert");
      note.setAttribute("data-testid", "scan-message");
      note.className = "note";
      group.parentNode.insertBefore(note, group.nextSibling);
    }
    note.textContent = text;
    note.hidden = !text;
  }

  var library = null;
  function loadLibrary() {
    if (window.ZXingBrowser) return Promise.resolve(window.ZXingBrowser);
    if (!library) {
      library = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = texts.library;
        script.onload = function () {
          resolve(window.ZXingBrowser);
        };
        script.onerror = function () {
          library = null;
          reject(new Error("library"));
        };
        document.head.appendChild(script);
      });
    }
    return library;
  }

  function problemOf(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "denied";
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") return "absent";
    if (name === "DevicesNotFoundError" || name === "TrackStartError") return "absent";
    return "failed";
  }

  var session = null; // the scan in progress: {field, controls, over}

  function finish() {
    if (!session) return;
    var current = session;
    session = null;
    current.over = true;
    if (current.controls) current.controls.stop();
    if (dialog.open) dialog.close();
    current.field.focus();
  }

  function start(field) {
    var kind = field.getAttribute("data-scan") || "any";
    var current = { field: field, controls: null, over: false };
    session = current;
    say(field, "");
    status.textContent = texts.textStarting;
    dialog.showModal();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      refuse(current, "absent"); // no camera API: an old browser, or a page not served over HTTPS
      return;
    }
    loadLibrary()
      .then(function (ZXing) {
        if (current.over) return null;
        var F = ZXing.BarcodeFormat;
        var reader = new ZXing.BrowserMultiFormatReader(undefined, { delayBetweenScanAttempts: 150 });
        reader.possibleFormats = [F.QR_CODE, F.CODE_128, F.CODE_39, F.EAN_13, F.EAN_8];
        var constraints = { audio: false, video: { facingMode: { ideal: "environment" } } };
        return reader.decodeFromConstraints(constraints, video, function (result) {
          if (!result || current.over) return;
          var read = reading(result.getText(), kind);
          if (!read) {
            status.textContent = texts.textWrong;
            return;
          }
          fill(field, read.value);
          if (read.label && (kind === "frame" || kind === "any")) fillProof(field, read.value);
          finish();
        });
      })
      .then(function (controls) {
        if (!controls) return;
        current.controls = controls;
        if (current.over) controls.stop();
        else status.textContent = texts.textAim;
      })
      .catch(function (error) {
        if (!current.over) refuse(current, error && error.message === "library" ? "failed" : problemOf(error));
      });
  }

  function refuse(current, problem) {
    var text = { denied: texts.textDenied, absent: texts.textAbsent }[problem] || texts.textFailed;
    var field = current.field;
    finish();
    say(field, text);
  }

  // A flex row of its own rather than Pico's role="group": in that one, Chromium scrolled the page when a textarea
  // in it lost focus, so the tap on the submit button landed elsewhere.
  fields.forEach(function (field) {
    var group = document.createElement("div");
    group.setAttribute("data-scan-group", "");
    group.style.cssText = "display:flex;gap:.5rem;margin-bottom:var(--pico-spacing)";
    group.style.alignItems = field.tagName === "TEXTAREA" ? "flex-start" : "stretch";
    field.parentNode.insertBefore(group, field);
    group.appendChild(field);
    field.style.marginBottom = "0";
    field.style.minWidth = "0";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.style.cssText = "flex:0 0 auto;width:auto;margin:0;white-space:nowrap;padding-left:1rem;padding-right:1rem";
    button.textContent = texts.textButton;
    button.setAttribute("aria-label", texts.textButtonLabel);
    button.setAttribute("data-testid", "scan-" + field.name);
    button.addEventListener("click", function () {
      start(field);
    });
    group.appendChild(button);
  });

  dialog.querySelector("[data-scanner-cancel]").addEventListener("click", finish);
  dialog.addEventListener("close", finish); // Escape closes the dialog too
})();
