/* conformance report: filters and cell details. Reads the page's embedded JSON; builds every node with
   textContent (no HTML from data), loads nothing from anywhere. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var form = document.getElementById("filters");
  var panel = document.getElementById("details");
  var body = document.getElementById("details-body");
  var selected = null;

  function checkedValues(name) {
    var values = {};
    form.querySelectorAll('input[name="' + name + '"]').forEach(function (input) {
      if (input.checked) { values[input.value] = true; }
    });
    return values;
  }

  function apply() {
    var targets = checkedValues("target"), apis = checkedValues("api");
    var capabilities = checkedValues("capability"), verdicts = checkedValues("verdict");
    var onlyMismatch = form.querySelector('input[name="mismatch"]').checked;
    document.querySelectorAll("#matrix [data-col]").forEach(function (el) {
      var column = data.columns[Number(el.dataset.col)];
      el.hidden = !(targets[column.target] && apis[column.api]);
    });
    document.querySelectorAll("#matrix [data-claim-api]").forEach(function (el) {
      el.hidden = !apis[el.dataset.claimApi];
    });
    document.querySelectorAll("#matrix th[data-group]").forEach(function (th) {
      var visible = 0;
      data.columns.forEach(function (column) {
        if (column.target === th.dataset.group && targets[column.target] && apis[column.api]) { visible += 1; }
      });
      th.hidden = visible === 0;
      th.colSpan = Math.max(visible, 1);
    });
    var claimHead = document.querySelector("#matrix th[data-claims]");
    var claimCount = Object.keys(apis).length;
    claimHead.hidden = claimCount === 0;
    claimHead.colSpan = Math.max(claimCount, 1);
    var shown = 0, rows = 0;
    document.querySelectorAll("#matrix tbody tr").forEach(function (tr) {
      var matches = 0;
      tr.querySelectorAll("td.cell").forEach(function (td) {
        var match = !td.hidden && verdicts[td.dataset.verdict] === true &&
          (!onlyMismatch || td.dataset.mismatch !== undefined);
        td.classList.toggle("filtered", !match);
        if (match) { matches += 1; }
      });
      tr.hidden = !(capabilities[tr.dataset.capability] && matches > 0);
      if (!tr.hidden) { shown += matches; rows += 1; }
    });
    document.getElementById("shown").textContent =
      "Showing " + shown + " of " + data.cells.length + " cells in " + rows + " rows.";
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function section(title) {
    body.appendChild(el("h3", title));
  }

  function findingItem(finding) {
    var li = el("li", null, finding.role === "root" ? "finding-root" : "");
    li.appendChild(el("code", finding.check));
    li.appendChild(document.createTextNode(" (" + finding.verdict + (finding.step ? ", step " + finding.step : "") +
      "): " + finding.message));
    if (finding.intermittent) { li.appendChild(el("span", "intermittent", "tag")); }
    return li;
  }

  function list(findings) {
    var ul = el("ul");
    findings.forEach(function (finding) { ul.appendChild(findingItem(finding)); });
    body.appendChild(ul);
  }

  function verdictChip(verdict) {
    var style = data.verdicts[verdict] || ["·", "#8c959f", ""];
    var chip = el("span", style[0] + " " + verdict, "chip v-" + verdict);
    chip.title = style[2];
    return chip;
  }

  function open(index, td) {
    var cell = data.cells[index];
    if (selected) { selected.classList.remove("selected"); }
    selected = td || null;
    if (selected) { selected.classList.add("selected"); }
    body.textContent = "";
    body.appendChild(el("h2", cell.capability + " / " + cell["case"] + (cell.stream ? " (stream)" : "")));
    body.appendChild(el("p", cell.target + " · " + cell.api + (cell.variant ? " · " + cell.variant : "") +
      (cell.scripted ? " · scripted backend" : ""), "sub"));
    var verdictLine = el("p");
    verdictLine.appendChild(verdictChip(cell.verdict));
    if (cell.shape !== "pass") {
      verdictLine.appendChild(document.createTextNode("  shape: "));
      verdictLine.appendChild(verdictChip(cell.shape));
    }
    (cell.markers || "").split("").forEach(function (mark) {
      var tag = el("span", mark + " " + (data.markers[mark] ? data.markers[mark][0] : ""), "tag");
      tag.title = data.markers[mark] ? data.markers[mark][1] : "";
      verdictLine.appendChild(tag);
    });
    body.appendChild(verdictLine);
    if (cell.description) { body.appendChild(el("p", cell.description)); }

    section("OpenAI documents");
    var claim = el("p", cell.claim_text);
    if (cell.claim && cell.claim.doc) {
      claim.appendChild(document.createTextNode(" "));
      var link = el("a", "(documentation)");
      link.href = cell.claim.doc;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      claim.appendChild(link);
    }
    body.appendChild(claim);
    if (cell.mismatch) { body.appendChild(el("p", "≠ " + cell.mismatch, "warning")); }
    if (cell.scripted) { body.appendChild(el("p", data.scripted, "muted")); }
    var declared = Object.keys(cell.declared || {});
    if (declared.length) {
      section("Declared by the target");
      var ul = el("ul");
      declared.forEach(function (name) { ul.appendChild(el("li", name + ": " + cell.declared[name])); });
      body.appendChild(ul);
    }

    var byRole = {root: [], "case": [], shape: [], note: []}, follows = {};
    (cell.findings || []).forEach(function (finding) {
      if (finding.role === "follows") {
        (follows[finding.cause || "?"] = follows[finding.cause || "?"] || []).push(finding);
      } else { (byRole[finding.role] || byRole["case"]).push(finding); }
    });
    if (byRole.root.length) { section("Root cause"); list(byRole.root); }
    if (byRole["case"].length) { section("Findings of the case's checks"); list(byRole["case"]); }
    if (byRole.shape.length) { section("Shape findings (every answer's checks)"); list(byRole.shape); }
    if (byRole.note.length) { section("Notes"); list(byRole.note); }
    var causes = Object.keys(follows);
    if (causes.length) {
      section("Consequences (not counted)");
      causes.forEach(function (cause) {
        var group = el("details");
        group.appendChild(el("summary", follows[cause].length + " finding(s) follow from " + cause));
        var ul = el("ul");
        follows[cause].forEach(function (finding) { ul.appendChild(findingItem(finding)); });
        group.appendChild(ul);
        body.appendChild(group);
      });
    }
    if (!(cell.findings || []).length) { body.appendChild(el("p", "No findings: every check held.", "muted")); }

    section("Exchanges");
    var facts = [];
    if (cell.tokens) { facts.push("tokens: " + Object.keys(cell.tokens).map(function (k) { return k + " " + cell.tokens[k]; }).join(", ")); }
    facts.push("duration: " + cell.duration + " s");
    if (cell.cassette) { facts.push("cassette: " + cell.cassette); }
    if (cell.source) { facts.push("case: " + cell.source); }
    body.appendChild(el("p", facts.join(" · "), "muted"));
    (cell.steps || []).forEach(function (step, position) {
      var box = el("details");
      box.open = position === (cell.steps.length - 1);
      var usage = step.usage ? " · tokens " + Object.keys(step.usage).map(function (k) { return k + " " + step.usage[k]; }).join(", ") : "";
      var where = step.origin === "cassette" ? " · interaction " + step.interaction : "";
      box.appendChild(el("summary", step.name + ": " + step.method + " " + step.path + " → " +
        (step.status === null ? "no answer" : step.status) + usage + where));
      if (step.request !== null) {
        box.appendChild(el("div", "request", "muted"));
        box.appendChild(el("pre", step.request));
        box.appendChild(el("div", "response", "muted"));
        box.appendChild(el("pre", step.response));
      } else {
        box.appendChild(el("p", "No excerpt: the cassette was not found where the results point.", "muted"));
      }
      body.appendChild(box);
    });
    if (!(cell.steps || []).length) { body.appendChild(el("p", "Nothing was sent.", "muted")); }
    panel.hidden = false;
    panel.focus();
  }

  function close() {
    panel.hidden = true;
    if (selected) { selected.classList.remove("selected"); selected.querySelector("button").focus(); }
    selected = null;
  }

  form.addEventListener("change", apply);
  document.getElementById("reset").addEventListener("click", function () {
    form.querySelectorAll("input[type=checkbox]").forEach(function (input) { input.checked = input.name !== "mismatch"; });
    apply();
  });
  document.getElementById("matrix").addEventListener("click", function (event) {
    var button = event.target.closest("button[data-cell]");
    if (button) { open(Number(button.dataset.cell), button.parentElement); }
  });
  document.getElementById("details-close").addEventListener("click", close);
  document.addEventListener("keydown", function (event) { if (event.key === "Escape" && !panel.hidden) { close(); } });
  apply();
}());
