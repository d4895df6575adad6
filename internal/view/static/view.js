// otelobs view: loads each panel at its size, refreshes them, and submits
// the variable form on change. No inline script runs on these pages (the
// Content-Security-Policy forbids it); panel fragments are HTML escaped by
// the server.
"use strict";
(function () {
  function load(el, now) {
    var body = el.querySelector(".panel-body");
    var src = el.getAttribute("data-src");
    if (!body || !src) return Promise.resolve();
    var w = Math.max(100, Math.floor(body.clientWidth));
    var h = Math.max(60, Math.floor(body.clientHeight));
    var url = src + (src.indexOf("?") < 0 ? "?" : "&") + "width=" + w + "&height=" + h + "&now=" + now;
    return fetch(url, { headers: { Accept: "text/html" } })
      .then(function (r) {
        var state = r.headers.get("X-Panel-State") || (r.ok ? "ok" : "error");
        return r.text().then(function (html) {
          body.innerHTML = html;
          el.setAttribute("data-state", state);
        });
      })
      .catch(function (e) {
        body.textContent = "The view did not answer: " + e;
        el.setAttribute("data-state", "error");
      });
  }
  function loadHealth() {
    var h = document.getElementById("health");
    if (!h) return Promise.resolve();
    return fetch(h.getAttribute("data-src"))
      .then(function (r) { return r.text(); })
      .then(function (html) { h.innerHTML = html; })
      .catch(function (e) { h.textContent = "The view did not answer: " + e; });
  }
  function loadAll() {
    // One "now" for every panel of a refresh: the same range, shared queries.
    var now = Date.now();
    var panels = document.querySelectorAll("[data-panel][data-src]");
    var jobs = [loadHealth()];
    for (var i = 0; i < panels.length; i++) jobs.push(load(panels[i], now));
    return Promise.all(jobs).then(function () {
      document.body.setAttribute("data-loaded", String(Date.now()));
    });
  }
  var units = { s: 1000, m: 60000, h: 3600000 };
  function interval(s) {
    var m = /^(\d+)([smh])$/.exec(s || "");
    return m ? parseInt(m[1], 10) * units[m[2]] : 0;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var selects = document.querySelectorAll("select[data-autosubmit]");
    for (var i = 0; i < selects.length; i++) {
      selects[i].addEventListener("change", function (ev) {
        var sel = ev.target;
        // "All" and single values exclude each other.
        var all = sel.querySelector('option[value="$__all"]');
        var picked = Array.prototype.filter.call(sel.options, function (o) { return o.selected && o !== all; });
        if (all && all.selected && picked.length > 0 && ev.target.dataset.wasAll === "1") all.selected = false;
        if (picked.length === 0 && all) all.selected = true;
        sel.form.submit();
      });
      var a = selects[i].querySelector('option[value="$__all"]');
      selects[i].dataset.wasAll = a && a.selected ? "1" : "0";
    }
    var every = interval(document.body.getAttribute("data-refresh"));
    var busy = false;
    loadAll().then(function () {
      if (every > 0) {
        setInterval(function () {
          if (busy || document.hidden) return;
          busy = true;
          loadAll().then(function () { busy = false; });
        }, every);
      }
    });
    window.addEventListener("resize", function () {
      clearTimeout(window.__otelobsResize);
      window.__otelobsResize = setTimeout(loadAll, 300);
    });
  });
})();
