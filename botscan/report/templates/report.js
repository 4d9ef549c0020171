/* botscan HTML report: severity, family and suppression filters and a search box, all in the
   page. The script only reads the DOM and toggles `hidden`/`open`; it never writes markup and
   never makes a request. A filter can be preset from the address, e.g.
   report.html#severity=critical,high&family=BOT1&suppressed=0&q=binance */
(function () {
  "use strict";
  const form = document.getElementById("controls");
  if (form) {
    const status = document.getElementById("filter-status");
    const noMatch = document.getElementById("no-match");
    const search = document.getElementById("search");
    const findings = Array.from(document.querySelectorAll("article.finding"));
    const groups = Array.from(document.querySelectorAll("section.file-group, section.family"));
    const searchable = ".finding-title, .finding-meta, .history, .message, .snippet, .evidence dl";
    const haystacks = findings.map((finding) =>
      Array.from(finding.querySelectorAll(searchable), (part) => part.textContent)
        .join("\n").toLowerCase());
    const boxes = (name) => Array.from(form.querySelectorAll(`input[name="${name}"]`));
    const checked = (name) => new Set(boxes(name).filter((b) => b.checked).map((b) => b.value));
    const plural = (n) => `${n} finding${n === 1 ? "" : "s"}`;

    const apply = () => {
      const severities = checked("severity");
      const families = checked("family");
      const withSuppressed = checked("suppressed").size > 0;
      const query = search.value.trim().toLowerCase();
      let shown = 0;
      findings.forEach((finding, i) => {
        const visible = severities.has(finding.dataset.severity) &&
          families.has(finding.dataset.family) &&
          (withSuppressed || finding.dataset.suppressed !== "1") &&
          (query === "" || haystacks[i].includes(query));
        finding.hidden = !visible;
        shown += visible ? 1 : 0;
      });
      groups.forEach((group) => {
        group.hidden = group.querySelector("article.finding:not([hidden])") === null;
      });
      status.textContent = shown === findings.length
        ? `Showing all ${plural(findings.length)}.`
        : `Filtered: showing ${shown} of ${plural(findings.length)}.`;
      noMatch.hidden = shown !== 0;
    };

    const fromAddress = () => {
      const params = new URLSearchParams(window.location.hash.slice(1));
      ["severity", "family", "suppressed"].forEach((name) => {
        const wanted = params.has(name) ? params.get(name).split(",") : null;
        boxes(name).forEach((box) => {
          box.checked = wanted === null || wanted.includes(box.value);
        });
      });
      search.value = params.get("q") || "";
      apply();
    };

    form.addEventListener("change", apply);
    form.addEventListener("input", apply);
    form.addEventListener("submit", (event) => event.preventDefault());
    window.addEventListener("hashchange", fromAddress);
    form.hidden = false;
    fromAddress();
  }

  /* Printing expands every folded section; the stylesheet does the same where the browser
     supports ::details-content, this covers the others. */
  let folded = [];
  window.addEventListener("beforeprint", () => {
    folded = Array.from(document.querySelectorAll("details:not([open])"));
    folded.forEach((details) => { details.open = true; });
  });
  window.addEventListener("afterprint", () => {
    folded.forEach((details) => { details.open = false; });
    folded = [];
  });
  document.body.setAttribute("data-report-js", "ready");
})();
