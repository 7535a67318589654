// nmfaudio serve: the page's logic (no framework, no network access beyond this server).
"use strict";
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const form = $("#job-form");
  const audioInput = $("#audio");
  const message = $("#message");
  const statusBox = $("#status");
  const progress = $("#progress");
  const stage = $("#stage");
  const startButton = $("#start");
  const cancelButton = $("#cancel");
  const results = $("#results");
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                  "#7f7f7f", "#bcbd22", "#17becf"];
  let jobId = null;
  let upload = null;
  let waveform = null;  // {peaks, duration} of the chosen file

  function showMessage(text, kind = "error") {
    message.textContent = text;
    message.className = kind;
    message.hidden = false;
  }
  function clearMessage() { message.hidden = true; message.textContent = ""; }

  function setBusy(busy) {
    startButton.disabled = busy;
    cancelButton.disabled = !busy;
    statusBox.hidden = !busy && statusBox.hidden;
  }

  // ---- modes -------------------------------------------------------------------
  function selectMode() {
    const mode = $("#mode").value;
    for (const fs of form.querySelectorAll("fieldset[data-mode]")) {
      const on = fs.dataset.mode === mode;
      fs.hidden = !on;
      fs.disabled = !on;
    }
    noiseMethod();
  }
  function noiseMethod() {
    const checked = form.querySelector("input[name=noise_method]:checked");
    const method = checked ? checked.value : "blind";
    const sample = $("#noise-sample"), region = $("#noise-region");
    sample.hidden = method !== "sample";
    region.hidden = method !== "region";
    for (const el of sample.querySelectorAll("input")) el.disabled = sample.hidden;
    for (const el of region.querySelectorAll("input")) el.disabled = region.hidden;
    if (!region.hidden) loadWaveform();
  }

  async function loadConfig() {
    try {
      const r = await fetch("/api/config");
      const config = await r.json();
      $("#limit-hint").textContent = `Files up to ${config.max_upload_mb} MB in total. ` +
        `nmfaudio ${config.version}.`;
      const list = $("#instrument-list");
      for (const m of config.instruments) {
        const label = document.createElement("label");
        const box = document.createElement("input");
        box.type = "checkbox"; box.name = "instruments"; box.value = m.name;
        label.append(box, " " + m.name);
        list.append(label);
      }
    } catch (err) {
      showMessage("Could not reach the nmfaudio server. Is it still running?");
    }
  }

  // ---- choosing a file: input or drag and drop ---------------------------------
  function fileChosen() {
    const f = audioInput.files[0];
    $("#drop-text").textContent = f ? `${f.name} (${(f.size / 1048576).toFixed(1)} MB)` :
      "Drop an audio file here, or click to choose one (WAV, FLAC, OGG, MP3)";
    waveform = null;
    clearMessage();
    if (!$("#noise-region").hidden) loadWaveform();
  }
  const zone = $("#drop-zone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length) {
      audioInput.files = e.dataTransfer.files;
      fileChosen();
    }
  });
  audioInput.addEventListener("change", fileChosen);

  // ---- noise region on the waveform --------------------------------------------
  const canvas = $("#waveform");
  async function loadWaveform() {
    const f = audioInput.files[0];
    if (!f || waveform) { drawWaveform(); return; }
    try {
      const ctx = new OfflineAudioContext(1, 1, 44100);
      const buffer = await ctx.decodeAudioData(await f.arrayBuffer());
      const data = buffer.getChannelData(0);
      const n = canvas.width, step = Math.max(1, Math.floor(data.length / n));
      const peaks = [];
      for (let i = 0; i < n; i++) {
        let lo = 0, hi = 0;
        for (let j = i * step; j < Math.min(data.length, (i + 1) * step); j++) {
          if (data[j] < lo) lo = data[j];
          if (data[j] > hi) hi = data[j];
        }
        peaks.push([lo, hi]);
      }
      waveform = { peaks, duration: buffer.duration };
      $("#waveform-hint").textContent = `Drag on the waveform to select a part with noise only ` +
        `(the recording is ${buffer.duration.toFixed(2)} s), or type the times.`;
    } catch (err) {
      waveform = null;
      $("#waveform-hint").textContent = "This browser cannot draw the waveform of this file; type the times.";
    }
    drawWaveform();
  }
  function drawWaveform() {
    const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    g.clearRect(0, 0, w, h);
    if (!waveform) return;
    const t0 = parseFloat($("#noise-start").value), t1 = parseFloat($("#noise-end").value);
    if (t1 > t0) {
      g.fillStyle = "rgba(214, 39, 40, 0.18)";
      g.fillRect(t0 / waveform.duration * w, 0, (t1 - t0) / waveform.duration * w, h);
    }
    g.fillStyle = "#2f6fdf";
    waveform.peaks.forEach(([lo, hi], x) => g.fillRect(x, (1 - hi) * h / 2, 1, Math.max(1, (hi - lo) * h / 2)));
  }
  let dragFrom = null;
  const timeAt = (e) => {
    const r = canvas.getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)) * waveform.duration;
  };
  canvas.addEventListener("pointerdown", (e) => { if (waveform) { dragFrom = timeAt(e); canvas.setPointerCapture(e.pointerId); } });
  canvas.addEventListener("pointermove", (e) => {
    if (dragFrom === null) return;
    const t = timeAt(e);
    $("#noise-start").value = Math.min(dragFrom, t).toFixed(2);
    $("#noise-end").value = Math.max(dragFrom, t).toFixed(2);
    drawWaveform();
  });
  canvas.addEventListener("pointerup", () => { dragFrom = null; });
  for (const id of ["#noise-start", "#noise-end"]) $(id).addEventListener("input", drawWaveform);

  // ---- running a job -----------------------------------------------------------
  function describe(s) {
    if (s.state === "queued") return s.position === 1 ? "Waiting: next in the queue" : `Waiting in the queue: position ${s.position}`;
    if (s.state === "running") return `${s.stage[0].toUpperCase()}${s.stage.slice(1)} — ${Math.round(100 * s.progress)}%`;
    return s.state;
  }
  function showStatus(s) {
    statusBox.hidden = false;
    progress.value = s.progress;
    stage.textContent = describe(s);
    statusBox.dataset.state = s.state;
  }
  async function poll() {
    if (!jobId) return;
    const id = jobId;
    let s;
    try {
      const r = await fetch(`/api/jobs/${encodeURIComponent(id)}`, { cache: "no-store" });
      s = await r.json();
      if (!r.ok) throw new Error(s.error || `HTTP ${r.status}`);
    } catch (err) {
      finish();
      showMessage(`Lost track of the job: ${err.message}`);
      return;
    }
    if (id !== jobId) return;
    showStatus(s);
    if (s.state === "done") { finish(); showResults(s.results); }
    else if (s.state === "failed") { finish(); showMessage(s.message || "The job failed."); }
    else if (s.state === "cancelled") { finish(); showMessage("Cancelled.", "info"); }
    else setTimeout(poll, 400);
  }
  function finish() { jobId = null; upload = null; setBusy(false); }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearMessage();
    if (!audioInput.files.length) { showMessage("Choose or drop a recording first."); return; }
    results.hidden = true;
    stopAll();
    setBusy(true);
    showStatus({ state: "uploading", progress: 0, stage: "uploading" });
    stage.textContent = "Uploading…";
    const xhr = new XMLHttpRequest();
    upload = xhr;
    xhr.open("POST", "/api/jobs");
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) stage.textContent = `Uploading… ${Math.round(100 * ev.loaded / ev.total)}%`;
    };
    xhr.onload = () => {
      let body;
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = { error: `The server answered ${xhr.status}.` }; }
      if (xhr.status === 202) { upload = null; jobId = body.id; showStatus(body); poll(); return; }
      finish();
      statusBox.hidden = true;
      showMessage(body.error || `The server refused the upload (HTTP ${xhr.status}).`);
    };
    xhr.onerror = () => {
      finish();
      statusBox.hidden = true;
      showMessage("The upload failed: the server closed the connection or cannot be reached.");
    };
    xhr.onabort = () => { finish(); statusBox.hidden = true; showMessage("Cancelled.", "info"); };
    xhr.send(new FormData(form));
  });

  cancelButton.addEventListener("click", async () => {
    if (upload) { upload.abort(); return; }
    if (!jobId) return;
    stage.textContent = "Cancelling…";
    try { await fetch(`/api/jobs/${encodeURIComponent(jobId)}/cancel`, { method: "POST" }); }
    catch (err) { showMessage("Could not reach the server to cancel."); }
  });

  // ---- results: listen, mute, solo ---------------------------------------------
  function track(name, item, color, isSource) {
    const div = document.createElement("div");
    div.className = "track";
    const head = document.createElement("div");
    head.className = "head";
    const h = document.createElement("h3");
    const dot = document.createElement("span");
    dot.className = "swatch"; dot.style.background = color;
    h.append(dot, " " + name);
    head.append(h);
    const audio = document.createElement("audio");
    audio.controls = true; audio.preload = "auto"; audio.src = item.audio;
    if (isSource) {
      audio.dataset.source = name;
      for (const what of ["mute", "solo"]) {
        const b = document.createElement("button");
        b.type = "button"; b.textContent = what === "mute" ? "Mute" : "Solo";
        b.dataset[what] = name; b.setAttribute("aria-pressed", "false");
        b.addEventListener("click", () => {
          b.setAttribute("aria-pressed", b.getAttribute("aria-pressed") === "true" ? "false" : "true");
          applyMix();
        });
        head.append(b);
      }
    } else {
      audio.dataset.role = "mixture";
    }
    const link = document.createElement("a");
    link.href = item.audio + "?download"; link.download = item.download; link.textContent = "Download";
    link.dataset.download = isSource ? name : "mixture";
    head.append(link);
    const img = document.createElement("img");
    img.src = item.image; img.alt = `spectrogram of ${name}`; img.loading = "lazy";
    div.append(head, audio, img);
    return div;
  }
  function sourceAudios() { return [...document.querySelectorAll("#sources audio[data-source]")]; }
  function applyMix() {
    const pressed = (what, name) => $(`button[data-${what}="${CSS.escape(name)}"]`).getAttribute("aria-pressed") === "true";
    const audios = sourceAudios();
    const anySolo = audios.some((a) => pressed("solo", a.dataset.source));
    for (const a of audios) {
      a.muted = pressed("mute", a.dataset.source) || (anySolo && !pressed("solo", a.dataset.source));
    }
  }
  function stopAll() { for (const a of document.querySelectorAll("#results audio")) { a.pause(); } }
  $("#play-all").addEventListener("click", () => {
    stopAll();
    const audios = sourceAudios();
    const t = audios.length ? audios[0].currentTime : 0;
    for (const a of audios) { a.currentTime = t; a.play().catch(() => {}); }
  });
  $("#stop-all").addEventListener("click", stopAll);

  function showResults(res) {
    const mix = $("#mixture"), list = $("#sources");
    mix.replaceChildren(track(`Mixture: ${res.track}`, res.mixture, "#263248", false));
    list.replaceChildren(...res.sources.map((s, i) => track(s.name, s, COLORS[i % COLORS.length], true)));
    const zip = $("#zip");
    zip.href = res.zip + "?download"; zip.download = res.zip_download;
    applyMix();
    results.hidden = false;
    stage.textContent = `Done: ${res.sources.length} sources from ${res.duration_seconds} s of audio.`;
    results.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  $("#mode").addEventListener("change", selectMode);
  for (const r of form.querySelectorAll("input[name=noise_method]")) r.addEventListener("change", noiseMethod);
  selectMode();
  loadConfig();
})();
