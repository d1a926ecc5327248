"""The HTML page :func:`~.backward.render_backward` fills in: layout, colours and the script
that steps through the frames. Self-contained: no network, no library.

The script reads the frames from the JSON in ``#frames``, finds each node and edge of the
inline SVG by its ``<title>`` (the node id Graphviz writes there), and on every step sets
classes on them: ``unreached`` (greyed: no gradient has got there yet), ``current`` (the op
being processed), ``received`` (its output, whose gradient it received), ``sent`` (the inputs
it sent to) and ``flow`` (the edges the gradient just went back along).
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{title}}</title>
<style>
  body { margin: 0; font: 14px/1.4 Helvetica, Arial, sans-serif; color: #222; }
  header { padding: 8px 16px; background: #f4f4f4; border-bottom: 1px solid #ddd;
           display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
  header h1 { font-size: 16px; margin: 0 12px 0 0; }
  header input[type=range] { flex: 1; min-width: 160px; }
  button { font-size: 14px; padding: 2px 10px; }
  main { display: flex; align-items: flex-start; }
  #graph { flex: 1; padding: 8px; overflow: auto; }
  #graph svg { max-width: 100%; height: auto; }
  #panel { width: 420px; padding: 8px 16px; border-left: 1px solid #ddd; }
  #panel h2 { font-size: 16px; margin: 4px 0; }
  .rule { font-family: monospace; font-size: 12px; color: #555; }
  table.sent { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 12px; }
  table.sent td, table.sent th { border: 1px solid #ddd; padding: 3px 4px; text-align: left;
                                  vertical-align: top; }
  .fanout { color: #a65e00; }
  .caption { background: #fff8e6; border-left: 3px solid #ff7f0e; padding: 4px 8px;
             margin: 6px 0; font-size: 13px; }
  .grid { display: inline-block; margin: 4px 8px 4px 0; font-size: 11px; }
  .grid table { border-collapse: collapse; }
  .grid td { width: 11px; height: 11px; border: 1px solid #fff; padding: 0; }
  .legend span { display: inline-block; padding: 0 6px; margin-right: 6px; }
  g.unreached { opacity: 0.2; }
  g.current ellipse, g.current polygon { stroke: #d62728; stroke-width: 5px; }
  g.received polygon { stroke: #1f77b4; stroke-width: 4px; }
  g.sent polygon, g.sent ellipse { stroke: #ff7f0e; stroke-width: 4px; }
  g.flow path { stroke: #ff7f0e; stroke-width: 3px; }
  g.flow polygon { stroke: #ff7f0e; fill: #ff7f0e; }
</style>
</head>
<body>
<header>
  <h1>{{title}}</h1>
  <button id="previous" title="previous step (left arrow)">&#9664; previous</button>
  <button id="next" title="next step (right arrow)">next &#9654;</button>
  <input id="slider" type="range" min="0" max="0" value="0" aria-label="step">
  <span id="counter"></span>
</header>
<main>
  <div id="graph">{{svg}}</div>
  <div id="panel">
    <p class="legend"><span style="border:3px solid #d62728">op being processed</span>
      <span style="border:3px solid #1f77b4">gradient received</span>
      <span style="border:3px solid #ff7f0e">gradient sent</span>
      <span style="opacity:0.35;border:1px solid #999">not reached yet</span></p>
    <div id="frame"></div>
  </div>
</main>
<script id="frames" type="application/json">{{frames}}</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("frames").textContent);
  var frames = data.frames;
  var svg = document.querySelector("#graph svg");
  var nodes = {}, edges = {};
  svg.querySelectorAll("g.node, g.edge").forEach(function (g) {
    var title = g.querySelector("title").textContent;  // "t3" or "t3->op1"
    (g.classList.contains("node") ? nodes : edges)[title] = g;
  });
  var slider = document.getElementById("slider");
  var counter = document.getElementById("counter");
  var panel = document.getElementById("frame");
  slider.max = Math.max(frames.length - 1, 0);
  var current = 0;

  function text(tag, content, className) {
    var element = document.createElement(tag);
    element.textContent = content;
    if (className) element.className = className;
    return element;
  }

  function colour(value, largest) {
    if (value === 0 || largest === 0) return "#e6e6e6";
    var strength = Math.round(255 - 200 * Math.min(Math.abs(value) / largest, 1));
    return value > 0 ? "rgb(255," + strength + "," + strength + ")"
                     : "rgb(" + strength + "," + strength + ",255)";
  }

  function grid(spec) {
    var box = document.createElement("div");
    box.className = "grid";
    box.appendChild(text("div", spec.title));
    var table = document.createElement("table");
    var largest = 0;
    spec.rows.forEach(function (row) {
      row.forEach(function (v) { largest = Math.max(largest, Math.abs(v)); });
    });
    spec.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      row.forEach(function (v) {
        var td = document.createElement("td");
        td.style.background = spec.mask ? (v ? "#333333" : "#eeeeee") : colour(v, largest);
        td.title = String(v);
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  }

  function describe(frame) {
    panel.textContent = "";
    panel.appendChild(text("h2", "Step " + (frame.step + 1) + ": " + frame.title));
    if (frame.rule) panel.appendChild(text("div", frame.rule, "rule"));
    panel.appendChild(text("p", "Received (the gradient of its output" +
      (frame.output ? ", " + frame.output : "") + ", summed over every consumer): " +
      frame.shape + "  " + frame.received));
    var table = document.createElement("table");
    table.className = "sent";
    var head = document.createElement("tr");
    ["sent to", "shape", "values just added", "sum so far"].forEach(function (h) {
      head.appendChild(text("th", h));
    });
    table.appendChild(head);
    frame.sent.forEach(function (s) {
      var tr = document.createElement("tr");
      var named = !s.to || s.name.indexOf(s.to) === 0;  // "t3 = Affine's output" names itself
      tr.appendChild(text("td", s.name + (named ? "" : " (" + s.to + ")")));
      tr.appendChild(text("td", s.shape));
      tr.appendChild(text("td", s.grad));
      tr.appendChild(s.expected > 1
        ? text("td", s.total + "  (" + s.arrived + " of " + s.expected + " contributions)",
               "fanout")
        : text("td", "(its only contribution)"));
      table.appendChild(tr);
    });
    if (frame.sent.length) {
      panel.appendChild(table);
    } else {
      panel.appendChild(text("p", "No input needs a gradient: the sweep stops here."));
    }
    if (frame.caption.length) {
      var caption = document.createElement("div");
      caption.className = "caption";
      frame.caption.forEach(function (line) { caption.appendChild(text("div", line)); });
      panel.appendChild(caption);
    }
    frame.grids.forEach(function (spec) { panel.appendChild(grid(spec)); });
  }

  function show(k) {
    if (!frames.length) {
      counter.textContent = "no op to step through";
      return;
    }
    current = Math.max(0, Math.min(frames.length - 1, k));
    var reached = {};
    if (data.root) reached[data.root] = true;
    for (var i = 0; i <= current; i++) {
      if (frames[i].op) reached[frames[i].op] = true;
      frames[i].sent.forEach(function (s) { if (s.to) reached[s.to] = true; });
    }
    Object.keys(nodes).forEach(function (id) {
      nodes[id].classList.toggle("unreached", !reached[id]);
      nodes[id].classList.remove("current", "received", "sent");
    });
    Object.keys(edges).forEach(function (id) {
      var ends = id.split("->");
      edges[id].classList.toggle("unreached", !(reached[ends[0]] && reached[ends[1]]));
      edges[id].classList.remove("flow");
    });
    var frame = frames[current];
    if (frame.op && nodes[frame.op]) {
      nodes[frame.op].classList.add("current");
      nodes[frame.op].scrollIntoView({block: "nearest", inline: "nearest"});
    }
    if (frame.output && nodes[frame.output]) nodes[frame.output].classList.add("received");
    frame.sent.forEach(function (s) {
      if (s.to && nodes[s.to]) nodes[s.to].classList.add("sent");
      var edge = edges[s.to + "->" + frame.op];
      if (edge) edge.classList.add("flow");
    });
    slider.value = current;
    counter.textContent = "step " + (current + 1) + " of " + frames.length;
    describe(frame);
    if (history.replaceState) history.replaceState(null, "", "#step=" + current);
  }

  document.getElementById("previous").addEventListener("click", function () {
    show(current - 1);
  });
  document.getElementById("next").addEventListener("click", function () { show(current + 1); });
  slider.addEventListener("input", function () { show(Number(slider.value)); });
  document.addEventListener("keydown", function (event) {
    if (event.target === slider) return;  // the slider moves itself
    if (event.key === "ArrowRight") show(current + 1);
    else if (event.key === "ArrowLeft") show(current - 1);
    else if (event.key === "Home") show(0);
    else if (event.key === "End") show(frames.length - 1);
    else return;
    event.preventDefault();
  });
  var requested = /step=(\\d+)/.exec(location.hash);
  show(requested ? Number(requested[1]) : 0);
})();
</script>
</body>
</html>
"""
