/*
 * Charts of the supervisor dashboards, drawn by the vendored Apache ECharts
 * (vendor/echarts/echarts.min.js, loaded before this file). Plain ES2017, no build step;
 * the only global is `CaseworkCharts`.
 *
 * Every element with a `data-chart` attribute is drawn on page load and after each htmx
 * swap. Its spec is the JSON text of a child <script type="application/json"> (the
 * {% chart %} template tag writes both; casework/web/charts.py builds the specs):
 *
 *   {"kind": "line" | "bar" | "stacked-bar" | "histogram", "title": "...",
 *    "x": ["label", ...], "series": [{"name": "...", "data": [number | null, ...]}],
 *    "unit": "count" | "percent" | "seconds" | "minutes", "y_label": "...",
 *    "links": ["url" | null, ...]}   optional, line/bar: clicking entry i opens links[i]
 *   histogram: "series" holds the counts per bin and "unit" is that of the measured
 *     values; optional "edges" (one more than "x", the last may be null for "≥ last")
 *     label the bins in the page language.
 *   {"kind": "pie", "title": "...", "x": [...], "series": [{"name": "...", "data": [...]}],
 *    "unit": "..."}                   the first series only
 *   {"kind": "sankey", "title": "...", "nodes": ["E-mail", "Phone", ...],
 *    "links": [{"source": "E-mail", "target": "Phone", "value": 12}]}
 *
 * Percent values are fractions (0.125 is shown as "12.5%", or "12,5 %" under lang="de");
 * seconds and minutes are shown as durations ("45 s", "1 min 5 s", "2 h 10 min").
 * A spec without data shows the element's data-empty-text instead. The drawn element
 * gets role="img", an aria-label from the title and data-chart-rendered="true"; the
 * template carries the data table for assistive technology and keyboard users.
 */
(function () {
  "use strict";

  var instances = new Map(); // element -> ECharts instance
  var formats = new Map(); // "lang|options" -> Intl.NumberFormat

  function pageLanguage() {
    var lang = document.documentElement.lang || "en";
    try {
      Intl.NumberFormat(lang);
      return lang;
    } catch (error) {
      return "en";
    }
  }

  function numberFormat(lang, options) {
    var key = lang + "|" + JSON.stringify(options);
    if (!formats.has(key)) {
      formats.set(key, new Intl.NumberFormat(lang, options));
    }
    return formats.get(key);
  }

  function formatNumber(value, lang, digits) {
    return numberFormat(lang, { maximumFractionDigits: digits }).format(value);
  }

  function formatDuration(seconds, lang) {
    var sign = seconds < 0 ? "-" : "";
    var rest = Math.abs(seconds);
    if (rest < 60) {
      return sign + formatNumber(rest, lang, rest < 10 ? 1 : 0) + " s";
    }
    rest = Math.round(rest);
    var hours = Math.floor(rest / 3600);
    var minutes = Math.floor((rest % 3600) / 60);
    var parts = [];
    if (hours) {
      parts.push(formatNumber(hours, lang, 0) + " h");
      if (minutes) parts.push(minutes + " min");
    } else {
      parts.push(minutes + " min");
      if (rest % 60) parts.push((rest % 60) + " s");
    }
    return sign + parts.join(" ");
  }

  function formatValue(value, unit, lang) {
    if (value === null || value === undefined || !isFinite(value)) {
      return "–";
    }
    lang = lang || pageLanguage();
    if (unit === "percent") {
      return numberFormat(lang, { style: "percent", maximumFractionDigits: 1 }).format(value);
    }
    if (unit === "seconds") return formatDuration(value, lang);
    if (unit === "minutes") return formatDuration(value * 60, lang);
    return formatNumber(value, lang, 1);
  }

  function readSpec(element) {
    var script = element.querySelector(':scope > script[type="application/json"]');
    if (!script) return null;
    try {
      return JSON.parse(script.textContent);
    } catch (error) {
      return null;
    }
  }

  function hasValue(value) {
    return typeof value === "number" && isFinite(value);
  }

  function isEmpty(spec) {
    if (!spec || typeof spec !== "object" || !spec.kind) return true;
    if (spec.kind === "sankey") {
      return !(spec.links || []).some(function (link) {
        return link && hasValue(link.value) && link.value > 0;
      });
    }
    var series = spec.kind === "pie" ? (spec.series || []).slice(0, 1) : spec.series || [];
    if (!(spec.x || []).length) return true;
    return !series.some(function (one) {
      return (one.data || []).some(function (value) {
        return hasValue(value) && (spec.kind !== "pie" || value > 0);
      });
    });
  }

  // Axis steps that fall on whole minutes and hours once the durations pass two minutes.
  function durationInterval(spec) {
    var scale = spec.unit === "minutes" ? 60 : 1;
    var totals = (spec.x || []).map(function (_, index) {
      var values = (spec.series || []).map(function (one) {
        var value = (one.data || [])[index];
        return hasValue(value) ? value * scale : 0;
      });
      return spec.kind === "stacked-bar"
        ? values.reduce(function (a, b) { return a + b; }, 0)
        : Math.max.apply(null, values.concat([0]));
    });
    var max = Math.max.apply(null, totals.concat([0]));
    if (max < 120) return undefined;
    var steps = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    for (var i = 0; i < steps.length; i++) {
      if (max / steps[i] <= 6) return steps[i] / scale;
    }
    return undefined;
  }

  function histogramLabels(spec, lang) {
    var edges = spec.edges;
    if (!Array.isArray(edges) || edges.length !== (spec.x || []).length + 1) {
      return spec.x;
    }
    return spec.x.map(function (label, index) {
      var low = edges[index];
      var high = edges[index + 1];
      if (!hasValue(low)) return label;
      if (!hasValue(high)) return "≥ " + formatValue(low, spec.unit, lang);
      return formatValue(low, spec.unit, lang) + "–" + formatValue(high, spec.unit, lang);
    });
  }

  function baseOption(spec) {
    var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    return {
      animation: !reduceMotion,
      title: { text: spec.title || "", left: 0, top: 0, textStyle: { fontSize: 14 } },
      textStyle: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif" },
    };
  }

  function cartesianOption(spec, lang) {
    var kind = spec.kind;
    var histogram = kind === "histogram";
    var valueUnit = histogram ? "count" : spec.unit;
    var format = function (value) {
      return formatValue(value, valueUnit, lang);
    };
    var series = (spec.series || []).map(function (one) {
      var item = { name: one.name, data: one.data || [], type: kind === "line" ? "line" : "bar" };
      if (kind === "line") {
        item.connectNulls = false;
        item.symbolSize = 6;
      }
      if (kind === "stacked-bar") item.stack = "total";
      if (histogram) item.barCategoryGap = "4%";
      return item;
    });
    var option = baseOption(spec);
    var legend = series.length > 1;
    option.legend = { show: legend, top: 24, left: 0, type: "scroll" };
    option.grid = { left: 8, right: 24, top: legend ? 76 : 56, bottom: 8, containLabel: true };
    option.tooltip = { trigger: "axis", valueFormatter: format };
    option.xAxis = {
      type: "category",
      data: histogram ? histogramLabels(spec, lang) : spec.x,
      boundaryGap: kind !== "line",
      axisLabel: { hideOverlap: true },
    };
    option.yAxis = {
      type: "value",
      name: spec.y_label || "",
      nameLocation: "end",
      nameTextStyle: { align: "left" },
      minInterval: valueUnit === "count" ? 1 : undefined,
      interval: valueUnit === "seconds" || valueUnit === "minutes" ? durationInterval(spec) : undefined,
      axisLabel: { formatter: format },
    };
    option.series = series;
    return option;
  }

  function pieOption(spec, lang) {
    var first = (spec.series || [])[0] || { data: [] };
    var option = baseOption(spec);
    option.tooltip = {
      trigger: "item",
      valueFormatter: function (value) {
        return formatValue(value, spec.unit, lang);
      },
    };
    option.legend = { top: 24, left: 0, type: "scroll" };
    option.series = [
      {
        type: "pie",
        name: first.name,
        radius: ["35%", "65%"],
        top: 48,
        data: spec.x.map(function (name, index) {
          return { name: name, value: first.data[index] };
        }),
      },
    ];
    return option;
  }

  function sankeyOption(spec, lang) {
    var links = (spec.links || []).filter(function (link) {
      return link && hasValue(link.value) && link.value > 0;
    });
    var names = (spec.nodes || []).map(String);
    links.forEach(function (link) {
      [link.source, link.target].forEach(function (name) {
        if (names.indexOf(String(name)) < 0) names.push(String(name));
      });
    });
    var option = baseOption(spec);
    option.tooltip = {
      trigger: "item",
      valueFormatter: function (value) {
        return formatValue(value, spec.unit || "count", lang);
      },
    };
    option.series = [
      {
        type: "sankey",
        nodeAlign: "left",
        top: 40,
        left: 8,
        right: 120,
        bottom: 8,
        emphasis: { focus: "adjacency" },
        lineStyle: { color: "gradient", curveness: 0.5 },
        data: names.map(function (name) {
          return { name: name };
        }),
        links: links.map(function (link) {
          return { source: String(link.source), target: String(link.target), value: link.value };
        }),
      },
    ];
    return option;
  }

  // Only plain web addresses (or the page's own scheme) are followed, never javascript:.
  function safeUrl(href) {
    if (typeof href !== "string" || !href) return null;
    try {
      var url = new URL(href, document.baseURI);
      var allowed = ["http:", "https:", window.location.protocol];
      return allowed.indexOf(url.protocol) >= 0 ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  // A click anywhere in the column of x entry i (on the bar, the point or beside it)
  // opens links[i]; the pointer shows where that is possible.
  function attachDrillDown(chart, links) {
    if (!Array.isArray(links) || !links.some(safeUrl)) return;
    var zr = chart.getZr();
    function urlAt(event) {
      var point = [event.offsetX, event.offsetY];
      if (!chart.containPixel({ gridIndex: 0 }, point)) return null;
      var index = Math.round(chart.convertFromPixel({ xAxisIndex: 0 }, point[0]));
      return index >= 0 && index < links.length ? safeUrl(links[index]) : null;
    }
    zr.on("click", function (event) {
      var url = urlAt(event);
      if (url) window.location.assign(url);
    });
    zr.on("mousemove", function (event) {
      zr.setCursorStyle(urlAt(event) ? "pointer" : "default");
    });
  }

  function showEmpty(element, spec) {
    var box = document.createElement("p");
    box.className = "chart-empty";
    if (spec && spec.title) {
      var title = document.createElement("span");
      title.className = "chart-empty-title";
      title.textContent = spec.title;
      box.appendChild(title);
      box.appendChild(document.createTextNode(" "));
    }
    box.appendChild(document.createTextNode(element.getAttribute("data-empty-text") || ""));
    element.appendChild(box);
    element.setAttribute("data-chart-empty", "true");
  }

  function draw(element, spec) {
    var lang = pageLanguage();
    var option;
    if (spec.kind === "sankey") option = sankeyOption(spec, lang);
    else if (spec.kind === "pie") option = pieOption(spec, lang);
    else if (["line", "bar", "stacked-bar", "histogram"].indexOf(spec.kind) >= 0) {
      option = cartesianOption(spec, lang);
    } else throw new Error("unknown chart kind: " + spec.kind);

    var canvasBox = document.createElement("div");
    canvasBox.className = "chart-canvas";
    element.appendChild(canvasBox);
    var chart = window.echarts.init(canvasBox, null, { renderer: "canvas" });
    try {
      chart.setOption(option);
    } catch (error) {
      chart.dispose();
      element.removeChild(canvasBox);
      throw error;
    }
    if (spec.kind === "line" || spec.kind === "bar" || spec.kind === "stacked-bar") {
      attachDrillDown(chart, spec.links);
    }
    element.setAttribute("role", "img");
    if (spec.title) element.setAttribute("aria-label", spec.title);
    instances.set(element, chart);
  }

  function renderElement(element) {
    if (element.getAttribute("data-chart-rendered") === "true") return;
    var spec = readSpec(element);
    if (isEmpty(spec)) {
      showEmpty(element, spec);
    } else {
      try {
        if (!window.echarts) throw new Error("echarts.min.js is not loaded");
        draw(element, spec);
      } catch (error) {
        console.error("chart not drawn:", error);
        showEmpty(element, spec);
      }
    }
    element.setAttribute("data-chart-rendered", "true");
  }

  // Charts whose element an htmx swap took out of the page are let go.
  function prune() {
    instances.forEach(function (chart, element) {
      if (!element.isConnected) {
        chart.dispose();
        instances.delete(element);
      }
    });
  }

  function render(root) {
    prune();
    (root || document).querySelectorAll("[data-chart]").forEach(renderElement);
  }

  var resizePending = false;
  function resizeAll() {
    prune();
    instances.forEach(function (chart) {
      chart.resize();
    });
  }

  window.addEventListener("resize", function () {
    if (resizePending) return;
    resizePending = true;
    window.requestAnimationFrame(function () {
      resizePending = false;
      resizeAll();
    });
  });
  document.addEventListener("htmx:afterSwap", function () {
    render(document);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      render(document);
    });
  } else {
    render(document);
  }

  window.CaseworkCharts = {
    render: render,
    resize: resizeAll,
    formatValue: formatValue,
    isEmpty: isEmpty,
  };
})();
