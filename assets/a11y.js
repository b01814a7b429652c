/*
 * Accessibility repairs for Dash 4 components (served by the app, no CDN).
 *
 * dcc.Checklist and dcc.RadioItems render native checkboxes and radio buttons, which are
 * accessible as they are, but wrap them in role="listbox" / role="option": a listbox whose
 * options contain focusable inputs is invalid ARIA (axe: nested-interactive,
 * aria-input-field-name) and screen readers announce nonsense. Removing the roles leaves
 * plain labelled inputs inside our <fieldset>/<legend>.
 * DataTable's scroll container must be reachable by keyboard to be scrolled (axe:
 * scrollable-region-focusable).
 * A MutationObserver re-applies this whenever React re-renders the components.
 */
(function () {
  function repair(root) {
    root.querySelectorAll('.dash-options-list[role="listbox"]').forEach(function (list) {
      list.removeAttribute("role");
      list.removeAttribute("aria-multiselectable");
    });
    root.querySelectorAll('.dash-options-list-option[role="option"], .dash-options-list-option[aria-selected]')
      .forEach(function (option) {
        option.removeAttribute("role");
        option.removeAttribute("aria-selected");
      });
    root.querySelectorAll(".dash-spreadsheet-container:not([tabindex])").forEach(function (box) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", "Data table (scrollable)");
    });
  }
  function start() {
    repair(document);
    new MutationObserver(function () { repair(document); })
      .observe(document.body, {subtree: true, childList: true, attributes: true,
                               attributeFilter: ["role", "aria-selected"]});
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
