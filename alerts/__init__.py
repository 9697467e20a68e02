"""Rules, the rule engine, alerts, routing to jurisdictions, the closed loop, SLA, notifications, complaints."""
