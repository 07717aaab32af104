/* The forecast page's two charts, from #ld-forecast-data. */
(function () {
  "use strict";
  var C = window.LoopdeskCharts;
  var data = C.data("ld-forecast-data");
  if (!data) { return; }
  var history = data.history, days = data.days;
  var labels = history.map(function (d) { return d.day; })
    .concat(days.map(function (d) { return d.day; }));
  var pad = function (n) { return new Array(n).fill(null); };
  C.draw("chart-forecast", {
    grid: { left: 44, right: 16, top: 48, bottom: 32, containLabel: true },
    xAxis: C.axis(labels.map(function (d) { return d.slice(5); })),
    yAxis: [C.valueAxis("e-mails"), Object.assign(C.valueAxis("agents"), { splitLine: { show: false } })],
    series: [
      { name: "History", type: "line", symbol: "none", itemStyle: { color: "#64748b" },
        data: history.map(function (d) { return d.emails; }).concat(pad(days.length)) },
      { name: "Forecast (" + data.method + ")", type: "line", symbol: "none",
        lineStyle: { type: "dashed", width: 2 }, itemStyle: { color: "#2563eb" }, z: 3,
        areaStyle: { opacity: 0.08 },
        data: pad(history.length).concat(days.map(function (d) { return d.emails; })) },
      { name: "Agents needed (day)", type: "bar", yAxisIndex: 1, barMaxWidth: 6, z: 1,
        itemStyle: { color: "#16a34a", opacity: 0.28, borderRadius: [2, 2, 0, 0] },
        data: pad(history.length).concat(days.map(function (d) { return d.agents; })) }
    ]
  });
  var hours = data.hours;
  C.draw("chart-agents", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true },
    dataZoom: [{ type: "inside" }],
    xAxis: C.axis(hours.map(function (h) { return h.slot; })),
    yAxis: C.valueAxis("agents"),
    series: [
      { name: "New mail", type: "bar", stack: "agents", barCategoryGap: "20%",
        data: hours.map(function (h) { return h.agents_volume; }) },
      { name: "Backlog", type: "bar", stack: "agents", itemStyle: { color: "#f59e0b" },
        data: hours.map(function (h) { return h.agents_backlog; }) }
    ]
  });
})();
