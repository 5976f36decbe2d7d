"""The report page's inline style and scripts (a sortable, filterable table), so that it
works offline."""

from __future__ import annotations





CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.5em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
table.sortable th { background: #eee; cursor: pointer; user-select: none; }
table.sortable th:hover { background: #ddd; }
tr.PC td.disposition { color: #1a7f1a; font-weight: bold; }
td.disposition { color: #b22; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.key, td a { white-space: nowrap; }
figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
#candidate-filter { width: 40em; margin: 0.5em 0; } #candidate-count { margin-left: 1em; }
tr:target { background: #ffc; }
""".strip()
SORT_JS = """
document.querySelectorAll("table.sortable").forEach(table => {
  table.querySelectorAll("th").forEach((th, column) => th.addEventListener("click", () => {
    const direction = th.dataset.order === "asc" ? -1 : 1;
    th.dataset.order = direction > 0 ? "asc" : "desc";
    const cell = row => row.cells[column];
    const compare = (a, b) => {
      const x = parseFloat(cell(a).dataset.v), y = parseFloat(cell(b).dataset.v);
      if (!isNaN(x) && !isNaN(y)) return direction * (x - y);
      if (!isNaN(x) || !isNaN(y)) return isNaN(x) ? 1 : -1;
      return direction * cell(a).textContent.localeCompare(cell(b).textContent, undefined,
                                                           {numeric: true});
    };
    const body = table.tBodies[0];
    body.append(...[...body.rows].sort(compare));
  }));
});
""".strip()
#: The candidate filter: words a row must all hold, or ``column<value`` (also <=, >, >=, =)
#: on a column's name; ``?filter=...`` in the page address fills the box.
FILTER_JS = """
(() => {
  const table = document.getElementById("candidate-table");
  const box = document.getElementById("candidate-filter");
  const count = document.getElementById("candidate-count");
  if (!table || !box) return;
  const names = [...table.tHead.rows[0].cells].map(th => th.dataset.name);
  const compare = {"<": (x, y) => x < y, "<=": (x, y) => x <= y, ">": (x, y) => x > y,
                   ">=": (x, y) => x >= y, "=": (x, y) => x === y};
  const test = word => {
    const parts = word.match(/^(\\w+)(<=|>=|<|>|=)(.+)$/);
    if (!parts || !names.includes(parts[1])) {  // a word: in any cell but the star's others
      const text = word.toLowerCase();
      return row => [...row.cells].some((cell, column) => names[column] !== "others"
                                         && cell.textContent.toLowerCase().includes(text));
    }
    const [, name, op, value] = parts, column = names.indexOf(name), y = parseFloat(value);
    return row => {
      const cell = row.cells[column], x = parseFloat(cell.dataset.v);
      const text = cell.textContent.toLowerCase();
      if (isNaN(x) || isNaN(y)) return op === "=" && text === value.toLowerCase();
      return compare[op](x, y);
    };
  };
  const apply = () => {
    const tests = box.value.trim().split(/\\s+/).filter(Boolean).map(test);
    const rows = [...table.tBodies[0].rows];
    rows.forEach(row => { row.hidden = !tests.every(t => t(row)); });
    count.textContent = `${rows.filter(row => !row.hidden).length} of ${rows.length} shown`;
  };
  box.value = new URLSearchParams(location.search).get("filter") || "";
  box.addEventListener("input", apply);
  apply();
})();
""".strip()
