"""The inline CSS and JavaScript of ``report.html`` (no library, nothing remote).

The script shows the hover box of the map (any element with ``data-n``, ``data-v``,
``data-t``), zooms with the wheel and the buttons (changing the SVG ``viewBox`` and keeping
corridor widths constant on screen), pans by dragging, sorts tables by a click on a header
(numbers by their raw ``data-v``), filters a table's rows by the text of its search box
(``input[data-filter]``: keyboard and touch reach every country), and finally sets
``data-ready="1"`` on ``<html>`` so tests can tell that it ran to its end. It logs nothing
to the console.
"""

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0 auto;
max-width:1200px;padding:0 16px 32px;color:#222;line-height:1.45}
h1{font-size:1.6em;margin:.8em 0 .2em}h2{font-size:1.25em;margin-top:1.6em;
border-bottom:1px solid #ddd}h3{font-size:1.05em}
code{font-size:.9em}.warn{background:#fff3cd;border:1px solid #e0b100;padding:8px}
.mapwrap{position:relative}#map{width:100%;height:auto;display:block;border:1px solid #bbb;
cursor:grab;user-select:none}
#map .sea{fill:#dbe9f4}#map .c{stroke:#636363;stroke-width:.5px;vector-effect:non-scaling-stroke}
#map .c:hover{stroke:#000;stroke-width:2px}
#map .o{fill:#fff;stroke:#bdbdbd;stroke-width:.5px;vector-effect:non-scaling-stroke}
#map .r{fill:none;stroke:#08306b;stroke-opacity:.85;stroke-linecap:round}
#map .r:hover{stroke:#6a00a8;stroke-opacity:1}
#ranks text{fill:#08306b;font-weight:bold;text-anchor:middle;dominant-baseline:middle;
paint-order:stroke;stroke:#fff;stroke-width:3px;display:none}#map.zoomed #ranks text{display:inline}
#tip{position:absolute;pointer-events:none;background:rgba(255,255,255,.96);border:1px solid #888;
padding:4px 8px;font-size:.9em;box-shadow:0 1px 4px rgba(0,0,0,.2);white-space:nowrap}
.buttons{margin:.4em 0}button{font:inherit;padding:2px 10px;margin-right:6px;cursor:pointer}
.legend{margin:.5em 0;font-size:.92em}.legend div{display:flex;flex-wrap:wrap;gap:4px 14px;
margin-top:4px}.legend i{display:inline-block;width:22px;height:13px;border:1px solid #777;
margin-right:5px;vertical-align:-2px}.legend i.line{height:0;border:0;border-top:3px solid #08306b}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ddd;border-radius:6px;
padding:8px 12px;flex:1 1 200px}.card b{display:block;font-size:1.5em}.card span{font-size:.9em}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.9em;margin:.4em 0}
th,td{padding:3px 8px;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;background:#f4f4f4}table.sortable th:hover{background:#e8e8e8}
table.kv th{background:#f7f7f7;font-weight:600;white-space:nowrap}
pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:.85em}
footer{margin-top:2em;font-size:.88em;color:#444;border-top:1px solid #ddd}
.bar{display:inline-block;height:10px;background:#fd8d3c;vertical-align:0}
.howto{background:#eef5fb;border:1px solid #9ecae1;padding:8px 12px}
input[type=search]{font:inherit;padding:2px 6px;margin:.3em 0 .3em .4em;width:16em}
"""

SCRIPT = """
(function () {
  var svg = document.getElementById('map'), tip = document.getElementById('tip');
  function scaleLines() {
    var vb = svg.viewBox.baseVal, k = vb.width / svg.getAttribute('data-world').split(' ')[2];
    svg.querySelectorAll('.r').forEach(function (p) {
      p.style.strokeWidth = (p.getAttribute('data-w') * k) + 'px'; });
    svg.querySelectorAll('#ranks text').forEach(function (t) {
      t.style.fontSize = (14 * k) + 'px'; t.style.strokeWidth = (3 * k) + 'px'; });
  }
  function view(box, zoomed) {
    svg.setAttribute('viewBox', box); svg.classList.toggle('zoomed', zoomed); scaleLines();
  }
  if (svg) {
    scaleLines();
    document.getElementById('world').onclick = function () {
      view(svg.getAttribute('data-world'), false); };
    var zoom = document.getElementById('zoom');
    if (zoom) zoom.onclick = function () { view(svg.getAttribute('data-zoom'), true); };
    svg.addEventListener('mousemove', function (e) {
      var el = e.target.closest('[data-n]');
      if (!el) { tip.hidden = true; return; }
      tip.innerHTML = '';
      [['b', 'data-n'], ['div', 'data-v'], ['div', 'data-t']].forEach(function (a) {
        var node = document.createElement(a[0]); node.textContent = el.getAttribute(a[1]);
        tip.appendChild(node); });
      var area = svg.parentNode.getBoundingClientRect();
      var x = e.clientX - area.left + 14, y = e.clientY - area.top + 14;
      tip.hidden = false;
      if (x + tip.offsetWidth > area.width) x = x - tip.offsetWidth - 28;
      tip.style.left = x + 'px'; tip.style.top = y + 'px';
    });
    svg.addEventListener('mouseleave', function () { tip.hidden = true; drag = null; });
    var world = svg.getAttribute('data-world').split(' ').map(Number), drag = null;
    function box() { var b = svg.viewBox.baseVal; return [b.x, b.y, b.width, b.height]; }
    svg.addEventListener('wheel', function (e) {
      e.preventDefault();
      var b = box(), r = svg.getBoundingClientRect(), f = e.deltaY < 0 ? 0.8 : 1.25;
      var w = Math.min(b[2] * f, world[2]), h = w * b[3] / b[2];
      var x = b[0] + (e.clientX - r.left) / r.width * (b[2] - w);
      var y = b[1] + (e.clientY - r.top) / r.height * (b[3] - h);
      view([x, y, w, h].join(' '), w < world[2] * 0.9);
    }, {passive: false});
    svg.addEventListener('mousedown', function (e) { drag = [e.clientX, e.clientY, box()]; });
    window.addEventListener('mouseup', function () { drag = null; });
    svg.addEventListener('mousemove', function (e) {
      if (!drag || !(e.buttons & 1)) return;
      var r = svg.getBoundingClientRect(), b = drag[2], k = b[2] / r.width;
      view([b[0] - (e.clientX - drag[0]) * k, b[1] - (e.clientY - drag[1]) * k, b[2], b[3]]
           .join(' '), svg.classList.contains('zoomed'));
    });
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, col) {
      th.addEventListener('click', function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var down = th.getAttribute('data-dir') !== 'down';
        th.setAttribute('data-dir', down ? 'down' : 'up');
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var u = x.getAttribute('data-v'), v = y.getAttribute('data-v');
          var c;
          if (u !== null && v !== null) {
            u = parseFloat(u); v = parseFloat(v);
            if (isNaN(u)) u = -Infinity; if (isNaN(v)) v = -Infinity;
            c = u < v ? -1 : (u > v ? 1 : 0);
          } else { c = x.textContent.localeCompare(y.textContent); }
          return down ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  document.querySelectorAll('input[data-filter]').forEach(function (box) {
    var table = document.getElementById(box.getAttribute('data-filter'));
    box.addEventListener('input', function () {
      var text = box.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = text !== '' && r.textContent.toLowerCase().indexOf(text) < 0; });
    });
  });
  document.documentElement.setAttribute('data-ready', '1');   // the script ran to its end
})();
"""
