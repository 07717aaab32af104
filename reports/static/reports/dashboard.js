/* The dashboard: the period switch and the four charts, from #ld-dashboard-data. */
(function () {
  "use strict";
  var C = window.LoopdeskCharts;
  var data = C.data("ld-dashboard-data");
  if (!data) { return; }

  // Period switch: shows the chosen window's values in the cards.
  var buttons = document.querySelectorAll(".ld-period-switch [data-window]");
  function choose(key) {
    buttons.forEach(function (b) {
      var on = b.getAttribute("data-window") === key;
      b.classList.toggle("active", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    document.querySelectorAll(".ld-dash-kpis [data-window]").forEach(function (v) {
      v.hidden = v.getAttribute("data-window") !== key;
    });
  }
  buttons.forEach(function (b) {
    b.addEventListener("click", function () { choose(b.getAttribute("data-window")); });
  });

  var days = data.days;
  C.draw("chart-days", {
    xAxis: C.axis(days.map(function (d) { return d.day.slice(5); })),
    yAxis: C.valueAxis(),
    series: [
      { name: "E-mails received", type: "line", smooth: 0.2, symbol: "none",
        areaStyle: { opacity: 0.12 }, data: days.map(function (d) { return d.received; }) },
      { name: "Cases closed", type: "line", smooth: 0.2, symbol: "none",
        data: days.map(function (d) { return d.closed; }) }
    ]
  });

  var pools = data.pools;
  C.draw("chart-pools", {
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true },
    xAxis: C.valueAxis(),
    yAxis: C.axis(pools.map(function (p) { return p.name; })),
    series: [
      { name: "Unassigned", type: "bar", stack: "open", barMaxWidth: 22,
        data: pools.map(function (p) { return p.unassigned; }) },
      { name: "In progress", type: "bar", stack: "open",
        data: pools.map(function (p) { return p.in_progress; }) },
      { name: "Other open", type: "bar", stack: "open", itemStyle: { color: "#94a3b8" },
        data: pools.map(function (p) { return p.other; }) },
      { name: "Overdue", type: "scatter", symbol: "diamond", symbolSize: 12,
        itemStyle: { color: "#dc2626" }, data: pools.map(function (p) { return p.overdue; }) }
    ]
  });

  var hours = data.today_hours;
  C.draw("chart-today", {
    xAxis: C.axis(hours.map(function (h) { return (h.hour < 10 ? "0" : "") + h.hour; })),
    yAxis: C.valueAxis(),
    series: [
      { name: "Today", type: "bar", barMaxWidth: 14, itemStyle: { borderRadius: [3, 3, 0, 0] },
        data: hours.map(function (h) { return h.received; }) },
      { name: "Typical", type: "line", smooth: 0.2, symbol: "none",
        lineStyle: { type: "dashed" }, itemStyle: { color: "#f59e0b" },
        data: hours.map(function (h) { return h.typical; }) }
    ]
  });

  var week = data.week_hours;
  var weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  var most = week.reduce(function (m, c) { return Math.max(m, c.mean); }, 0);
  C.draw("chart-week", {
    tooltip: { position: "top", confine: true },
    legend: { show: false },
    grid: { left: 8, right: 16, top: 8, bottom: 44, containLabel: true },
    xAxis: C.axis(Array.from({ length: 24 }, function (_, h) { return (h < 10 ? "0" : "") + h; })),
    yAxis: Object.assign(C.axis(weekdays), { inverse: true }),
    visualMap: { min: 0, max: Math.max(most, 1), calculable: false, orient: "horizontal",
                 left: "center", bottom: 0, itemHeight: 120, itemWidth: 10,
                 inRange: { color: ["#f1f5f9", "#93c5fd", "#1d4ed8"] },
                 textStyle: { color: "#64748b" } },
    series: [{ name: "Mean e-mails", type: "heatmap", itemStyle: { borderColor: "#fff", borderWidth: 1 },
               data: week.map(function (c) { return [c.hour, weekdays.indexOf(c.weekday), c.mean]; }) }]
  });
})();
