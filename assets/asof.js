/*
 * The "As of" date in the header (served by the app, no CDN).
 *
 * pkpiAsofProblem(text): "" when text is empty or a real day written YYYY-MM-DD, else
 * "malformed" (30/09/2023, 2023-9-30) or "impossible" (2023-09-31). The shell's callback
 * (callbacks/shell.py) shows the matching message and changes nothing; the server reads
 * the date with the same rule (indicators/view.py).
 * The calendar picker (<input type="date">) can only give a real day: choosing one reloads
 * the page with it, as typing it and pressing Enter does.
 */
(function () {
  window.pkpiAsofProblem = function (text) {
    if (!text) { return ""; }
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
    if (!m) { return "malformed"; }
    const y = +m[1], mo = +m[2], d = +m[3];
    const day = new Date(Date.UTC(y, mo - 1, d));
    if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) {
      return "impossible";
    }
    return "";
  };
  function place() {
    const slot = document.getElementById("site-asof-picker-slot");
    if (!slot) { return; }
    let picker = document.getElementById("site-asof-picker");
    if (!picker) {
      picker = document.createElement("input");
      picker.type = "date";
      picker.id = "site-asof-picker";
      picker.className = "asof-picker";
      picker.min = "1945-10-24";
      slot.appendChild(picker);
    }
    const label = slot.getAttribute("title") || "Pick the as-of date from a calendar";
    if (picker.getAttribute("aria-label") !== label) { picker.setAttribute("aria-label", label); }
    const today = new Date().toISOString().slice(0, 10);
    if (picker.max !== today) { picker.max = today; }
    const asof = new URLSearchParams(window.location.search).get("asof") || "";
    if (document.activeElement !== picker && !window.pkpiAsofProblem(asof) && picker.value !== asof) {
      picker.value = asof;
    }
  }
  function start() {
    place();
    new MutationObserver(function () { place(); }).observe(document.body, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["title"] });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  document.addEventListener("change", function (event) {
    const picker = event.target;
    if (!picker || picker.id !== "site-asof-picker" || !picker.value) { return; }
    if (window.pkpiAsofProblem(picker.value)) { return; }
    const params = new URLSearchParams(window.location.search);
    if (params.get("asof") === picker.value) { return; }
    params.set("asof", picker.value);
    window.location.assign(window.location.pathname + "?" + params.toString() + window.location.hash);
  });
})();
