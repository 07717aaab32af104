/* Loopdesk's charts: Apache ECharts (vendored, ../vendor/echarts) with one look for every
   chart of the reports. No inline handlers, nothing from the internet (CSP). */
(function () {
  "use strict";
  var PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#64748b"];
  var charts = [];

  function base() {
    return {
      color: PALETTE,
      animationDuration: 400,
      textStyle: { fontFamily: "inherit", color: "#334155" },
      grid: { left: 44, right: 16, top: 36, bottom: 32, containLabel: true },
      tooltip: { trigger: "axis", confine: true },
      legend: { top: 0, right: 0, icon: "roundRect", itemWidth: 10, itemHeight: 10,
                textStyle: { color: "#475569" } }
    };
  }

  function merge(target, extra) {
    Object.keys(extra).forEach(function (key) { target[key] = extra[key]; });
    return target;
  }

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element || typeof echarts === "undefined") { return null; }
    var chart = echarts.init(element, null, { renderer: "svg" });
    chart.setOption(merge(base(), option));
    element.setAttribute("data-drawn", "true");
    charts.push(chart);
    return chart;
  }

  function axis(values) {
    return { type: "category", data: values, axisTick: { show: false },
             axisLine: { lineStyle: { color: "#cbd5e1" } }, axisLabel: { color: "#64748b" } };
  }

  function valueAxis(name) {
    return { type: "value", name: name || "", nameTextStyle: { color: "#64748b" },
             splitLine: { lineStyle: { color: "#eef2f7" } }, axisLabel: { color: "#64748b" } };
  }

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });

  window.LoopdeskCharts = { draw: draw, axis: axis, valueAxis: valueAxis, data: data,
                            palette: PALETTE };
})();
