// Draws the regulator dashboards' charts with Apache ECharts (vendored, see
// scripts/vendor_assets.sh). The data comes from <script type="application/json"
// id="dashboard-charts"> (Django's json_script): the CSP allows no inline script.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof echarts === "undefined") {
    return;
  }
  var specs = JSON.parse(source.textContent);
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var spec = specs[el.dataset.chart];
    if (!spec) {
      return;
    }
    var series = spec.series.map(function (s) {
      var item = { name: s.name, type: "bar", data: s.data, emphasis: { focus: "series" } };
      if (spec.stacked) {
        item.stack = "total";
      }
      return item;
    });
    if (spec.markLine && series.length) {
      series[0].markLine = {
        symbol: "none",
        silent: true,
        data: spec.markLine.map(function (y) {
          return { yAxis: y };
        }),
      };
    }
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 48, right: 48, top: 36, bottom: 8, containLabel: true },
      xAxis: {
        type: "category",
        data: spec.categories,
        axisLabel: { interval: 0, rotate: spec.categories.length > 6 ? 30 : 0, width: 120, overflow: "truncate" },
      },
      yAxis: { type: "value", name: spec.yName },
      series: series,
    });
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) {
      chart.resize();
    });
  });
})();
