/// The web page's files, compiled into the binary so that the page works offline and wherever
/// the `diffuse` executable is copied: plain HTML, CSS and JavaScript, no framework, no CDN.
enum PageAssets {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Diffuse</title>
    <link rel="icon" href="/favicon.svg" type="image/svg+xml">
    <link rel="stylesheet" href="/app.css">
    </head>
    <body>
    <header>
      <h1>Diffuse</h1>
      <span id="model" class="muted"></span>
    </header>
    <main>
      <form id="form" autocomplete="off">
        <label for="prompt">Prompt <span class="muted">(Enter generates, Shift+Enter adds a line)</span></label>
        <textarea id="prompt" rows="3" placeholder="a watercolor of a lighthouse at dawn" autofocus></textarea>
        <label for="negative">Negative prompt</label>
        <textarea id="negative" rows="2" placeholder="blurry, low quality"></textarea>
        <div class="grid">
          <label>Sampler <select id="sampler"></select></label>
          <label>Steps <input id="steps" type="number" min="1" value="20"></label>
          <label>Guidance <input id="guidance" type="number" min="0" max="100" step="0.5" placeholder="model default"></label>
          <label>Seed <input id="seed" type="number" min="-1" placeholder="random"></label>
          <label>Width <input id="width" type="number" min="8" step="8"></label>
          <label>Height <input id="height" type="number" min="8" step="8"></label>
          <label>Images <input id="count" type="number" min="1" value="1"></label>
        </div>
        <fieldset id="img2img">
          <legend>Init image (img2img)</legend>
          <input id="init-file" type="file" accept="image/*">
          <img id="init-thumb" alt="init image" hidden>
          <label>Strength <input id="strength" type="range" min="0.05" max="1" step="0.05" value="0.6">
            <output id="strength-value">0.6</output></label>
          <button type="button" id="init-clear" hidden>Remove</button>
        </fieldset>
        <div id="key-row" hidden>
          <label>API key <input id="api-key" type="password" placeholder="the server's --api-key"></label>
        </div>
        <div class="actions">
          <button type="submit" id="generate">Generate</button>
          <button type="button" id="cancel" disabled>Cancel <span class="muted">(Esc)</span></button>
        </div>
      </form>
      <section id="live" aria-live="polite">
        <div id="status" class="muted">Ready.</div>
        <progress id="bar" max="1" value="0" hidden></progress>
        <img id="preview" alt="live preview" hidden>
        <div id="results" class="images"></div>
      </section>
    </main>
    <section id="gallery-section">
      <h2>Gallery</h2>
      <div id="gallery"></div>
    </section>
    <script src="/app.js"></script>
    </body>
    </html>
    """#

    static let style = #"""
    :root { color-scheme: light dark; --accent: #4f6df5; --border: #8884; }
    * { box-sizing: border-box; }
    [hidden] { display: none !important; }
    body { font: 15px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem; }
    header { display: flex; align-items: baseline; gap: 1rem; }
    h1 { margin: 0 0 .5rem; font-size: 1.5rem; }
    h2 { font-size: 1.1rem; }
    main { display: grid; grid-template-columns: minmax(280px, 420px) 1fr; gap: 1.5rem; }
    @media (max-width: 760px) { main { grid-template-columns: 1fr; } }
    label { display: block; margin: .4rem 0 .2rem; }
    textarea, input, select, button { font: inherit; }
    textarea { width: 100%; resize: vertical; }
    .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0 .8rem; }
    .grid input, .grid select { width: 100%; }
    fieldset { border: 1px solid var(--border); border-radius: 6px; margin: .8rem 0; }
    #init-thumb { display: block; max-width: 100%; max-height: 120px; margin: .4rem 0; }
    .actions { display: flex; gap: .5rem; margin-top: .8rem; }
    button { padding: .45rem 1rem; border-radius: 6px; border: 1px solid var(--border); cursor: pointer; }
    button[type=submit] { background: var(--accent); color: white; border-color: var(--accent); }
    button:disabled { opacity: .5; cursor: default; }
    .muted { color: #888; font-size: .9em; }
    .error { color: #d33; }
    progress { width: 100%; }
    #preview { width: 256px; max-width: 100%; image-rendering: auto; border-radius: 6px; margin: .5rem 0; }
    .images { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: .8rem; margin-top: .5rem; }
    figure { margin: 0; border: 1px solid var(--border); border-radius: 6px; padding: .4rem; }
    figure img { width: 100%; display: block; border-radius: 4px; image-rendering: auto; }
    figcaption { font-size: .8em; word-break: break-word; white-space: pre-line; }
    figcaption .links { display: flex; gap: .6rem; margin-top: .3rem; }
    #gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: .8rem; }
    """#

    static let icon = #"""
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#4f6df5"/><circle cx="8" cy="8" r="3" fill="#fff"/></svg>
    """#

    static let script = #"""
    "use strict";
    const $ = (id) => document.getElementById(id);
    // Small models' images (the bundled 32×32 emoji model) are shown enlarged with crisp pixels.
    const crisp = (img) => { img.style.imageRendering = img.naturalWidth < 128 ? "pixelated" : "auto"; };
    const state = { job: null, controller: null, initImage: null, config: null };

    function headers(json) {
      const h = json ? { "Content-Type": "application/json" } : {};
      const key = localStorage.getItem("diffuse-api-key");
      if (key) h["Authorization"] = "Bearer " + key;
      return h;
    }

    async function api(path, options = {}) {
      const response = await fetch(path, { ...options, headers: headers(options.body !== undefined) });
      if (response.status === 401) { $("key-row").hidden = false; $("api-key").focus(); }
      if (!response.ok) {
        let message = response.status + " " + response.statusText;
        try { const body = await response.json(); message = (body.error && body.error.message) || body.detail || message; } catch (_) {}
        throw new Error(message);
      }
      return response;
    }

    function setStatus(text, isError) {
      $("status").textContent = text;
      $("status").className = isError ? "error" : "muted";
    }

    async function loadConfig() {
      try {
        const config = await (await api("/api/config")).json();
        state.config = config;
        $("model").textContent = config.model;
        const select = $("sampler");
        select.innerHTML = "";
        const auto = new Option("Model default (" + config.default_sampler + ")", "");
        select.add(auto);
        for (const s of config.samplers) select.add(new Option(s.display_name, s.name));
        $("width").value = $("width").value || config.default_size;
        $("height").value = $("height").value || config.default_size;
        $("steps").max = config.limits.max_steps;
        $("count").max = config.limits.max_images;
        $("width").max = $("height").max = config.limits.max_size;
        setStatus("Ready.");
      } catch (error) {
        setStatus(error.message, true);
      }
    }

    function numberOrNull(id) {
      const text = $(id).value.trim();
      return text === "" ? null : Number(text);
    }

    function readForm() {
      const body = {
        prompt: $("prompt").value,
        negative_prompt: $("negative").value,
        sampler: $("sampler").value || null,
        steps: numberOrNull("steps"),
        guidance: numberOrNull("guidance"),
        seed: numberOrNull("seed"),
        width: numberOrNull("width"),
        height: numberOrNull("height"),
        n: numberOrNull("count"),
      };
      if (state.initImage) { body.init_image = state.initImage; body.strength = Number($("strength").value); }
      return body;
    }

    async function generate(body) {
      if (state.job) return;
      $("generate").disabled = true;
      $("cancel").disabled = false;
      $("results").innerHTML = "";
      setStatus("Submitting…");
      try {
        const job = await (await api("/api/jobs", { method: "POST", body: JSON.stringify(body) })).json();
        state.job = job;
        setStatus("Queued. Seed" + (job.seeds.length > 1 ? "s " : " ") + job.seeds.join(", "));
        await follow(job, body);
      } catch (error) {
        if (error.name !== "AbortError") setStatus(error.message, true);
      } finally {
        state.job = null;
        state.controller = null;
        $("generate").disabled = false;
        $("cancel").disabled = true;
        $("bar").hidden = true;
        $("preview").hidden = true;
      }
    }

    // Server-Sent Events read with fetch (EventSource cannot send the Authorization header).
    async function follow(job, body) {
      state.controller = new AbortController();
      const response = await fetch("/api/jobs/" + job.id + "/events", { headers: headers(false), signal: state.controller.signal });
      if (!response.ok) throw new Error("events: " + response.status);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (handle(name, data ? JSON.parse(data) : {}, job, body)) return;
        }
      }
    }

    function handle(name, data, job, body) {
      if (name === "queued") setStatus("Queued (position " + data.position + ")…");
      else if (name === "started") { setStatus("Starting…"); $("bar").hidden = false; $("bar").value = 0; }
      else if (name === "progress") {
        const of = data.images > 1 ? " (image " + data.image + "/" + data.images + ")" : "";
        setStatus("Step " + data.step + "/" + data.total + of);
        $("bar").hidden = false;
        $("bar").value = data.progress;
        if (data.preview) { $("preview").onload = () => crisp($("preview")); $("preview").src = data.preview; $("preview").hidden = false; }
      } else if (name === "done") {
        const seeds = data.images.map((i) => i.seed).join(", ");
        setStatus("Done in " + data.seconds.toFixed(1) + " s — seed" + (data.images.length > 1 ? "s " : " ") + seeds +
                  (data.interrupted ? " (interrupted)" : ""));
        showResults(data.images, body);
        return true;
      } else if (name === "error") { setStatus(data.message, true); return true; }
      else if (name === "cancelled") { setStatus("Cancelled."); return true; }
      return false;
    }

    function figure(image, body, index) {
      const fig = document.createElement("figure");
      const img = document.createElement("img");
      img.onload = () => crisp(img);
      img.src = image.image;
      img.alt = body.prompt || "generated image";
      const caption = document.createElement("figcaption");
      caption.textContent = image.infotext;
      const links = document.createElement("div");
      links.className = "links";
      links.style.whiteSpace = "normal";
      const download = document.createElement("a");
      download.href = image.image;
      download.download = "diffuse-" + image.seed + ".png";
      download.textContent = "Download";
      const vary = document.createElement("button");
      vary.type = "button";
      vary.textContent = "Vary";
      vary.title = "img2img from this image";
      vary.addEventListener("click", () => {
        setInitImage(image.image);
        $("seed").value = "";
        generate({ ...readForm(), seed: null, n: 1 });
      });
      links.append(download, vary);
      caption.append(links);
      fig.append(img, caption);
      return fig;
    }

    function showResults(images, body) {
      const results = $("results");
      results.innerHTML = "";
      images.forEach((image, i) => {
        results.append(figure(image, body, i));
        $("gallery").prepend(figure(image, body, i));
      });
    }

    function setInitImage(dataURL) {
      state.initImage = dataURL;
      $("init-thumb").src = dataURL;
      $("init-thumb").hidden = false;
      $("init-clear").hidden = false;
    }

    // Any image the browser can show becomes a PNG (the server reads PNG only), sized to a multiple of 8.
    function loadInitFile(file) {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => {
        const max = state.config ? state.config.limits.max_size : 1024;
        const scale = Math.min(1, max / Math.max(img.width, img.height));
        const w = Math.max(8, Math.floor(img.width * scale / 8) * 8), h = Math.max(8, Math.floor(img.height * scale / 8) * 8);
        const canvas = document.createElement("canvas");
        canvas.width = w; canvas.height = h;
        canvas.getContext("2d").drawImage(img, 0, 0, w, h);
        setInitImage(canvas.toDataURL("image/png"));
        $("width").value = w; $("height").value = h;
        URL.revokeObjectURL(url);
      };
      img.onerror = () => setStatus("That file is not an image the browser can read.", true);
      img.src = url;
    }

    function cancel() {
      const job = state.job;
      if (!job) return;
      api("/api/jobs/" + job.id, { method: "DELETE" }).catch(() => {});
    }

    $("form").addEventListener("submit", (event) => { event.preventDefault(); generate(readForm()); });
    $("prompt").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); $("form").requestSubmit(); }
    });
    document.addEventListener("keydown", (event) => { if (event.key === "Escape") cancel(); });
    $("cancel").addEventListener("click", cancel);
    $("init-file").addEventListener("change", (event) => { if (event.target.files[0]) loadInitFile(event.target.files[0]); });
    $("init-clear").addEventListener("click", () => {
      state.initImage = null;
      $("init-thumb").hidden = true;
      $("init-clear").hidden = true;
      $("init-file").value = "";
    });
    $("strength").addEventListener("input", () => { $("strength-value").textContent = $("strength").value; });
    $("api-key").addEventListener("change", () => { localStorage.setItem("diffuse-api-key", $("api-key").value); loadConfig(); });
    loadConfig();
    """#
}
