/* RepSeq Server browser code: uploads (progress, cancel, retry), launching, live job status, clone names,
   plot export. Vanilla JavaScript, no dependency; writes go through the REST API with the CSRF token. */
"use strict";

(function () {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  async function api(method, path, body) {
    const options = { method, headers: { "X-CSRF-Token": csrf(), Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const message = (data && data.error && data.error.message) || response.statusText;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v; else if (k === "class") node.className = v; else node.setAttribute(k, v);
    });
    (children || []).forEach((c) => node.appendChild(typeof c === "string" ? document.createTextNode(c) : c));
    return node;
  }

  function stateBadge(state) {
    const label = state || "not analysed";
    return el("span", { class: "state state-" + (state ? state.toLowerCase() : "none"), text: label });
  }

  function humanSize(bytes) {
    if (!bytes) return "";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0, value = bytes;
    while (value >= 1000 && i < units.length - 1) { value /= 1000; i++; }
    return (i ? value.toFixed(1) : value) + " " + units[i];
  }

  // Auto-submitting selects (configuration, top N, sample) and navigating selects.
  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("select[data-autosubmit]")) target.form.submit();
    if (target.matches("select[data-navigate]")) window.location = target.form.dataset.base + target.value;
  });

  function initSizes() {
    document.querySelectorAll("td[data-bytes]").forEach((td) => { td.textContent = humanSize(Number(td.dataset.bytes)); });
  }

  // ---- set page -------------------------------------------------------------------------------------------------
  function initSetPage(root) {
    const setId = Number(root.dataset.setId);
    const configId = root.dataset.configId ? Number(root.dataset.configId) : null;
    const table = document.getElementById("samples-table").tBodies[0];
    let pollTimer = null;

    function rowFor(sampleId) { return table.querySelector('tr[data-sample-id="' + sampleId + '"]'); }

    function setStatus(sampleId, job) {
      const row = rowFor(sampleId);
      if (!row) return;
      const cell = row.querySelector(".status");
      cell.replaceChildren(stateBadge(job ? job.state : null));
      if (job && ["PENDING", "QUEUED", "RUNNING"].includes(job.state)) {
        cell.appendChild(document.createTextNode(" "));
        cell.appendChild(el("button", { type: "button", class: "cancel-job link", "data-job-id": job.id, text: "cancel" }));
      }
      if (job && job.reason && job.state !== "COMPLETED") cell.appendChild(el("div", { class: "msg", text: job.reason }));
    }

    async function poll() {
      if (!configId) return;
      let active = false;
      try {
        const jobs = await api("GET", "/api/v1/jobs?sample_set_id=" + setId);
        const latest = {};
        jobs.filter((j) => j.config_id === configId).forEach((j) => {
          if (!latest[j.sample_id] || j.id > latest[j.sample_id].id) latest[j.sample_id] = j;
        });
        Object.values(latest).forEach((job) => {
          setStatus(job.sample_id, job);
          if (["PENDING", "QUEUED", "RUNNING"].includes(job.state)) active = true;
        });
      } catch (error) {
        if (error.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname + location.search); return; }
      }
      clearTimeout(pollTimer);
      pollTimer = setTimeout(poll, active ? 2000 : 10000);
    }

    async function launch(sampleId, button) {
      if (button) button.disabled = true;
      try {
        const job = await api("POST", "/api/v1/jobs", { sample_id: sampleId, sample_set_id: setId, config_id: configId });
        setStatus(sampleId, job);
      } catch (error) {
        const row = rowFor(sampleId);
        if (row) row.querySelector(".status").replaceChildren(el("span", { class: "error", text: error.message }));
      } finally {
        if (button) button.disabled = false;
      }
      poll();
    }

    table.addEventListener("click", async (event) => {
      const button = event.target.closest("button.launch");
      if (button) launch(Number(button.dataset.sampleId), button);
      const cancel = event.target.closest("button.cancel-job");
      if (cancel) {
        cancel.disabled = true;
        try {
          const job = await api("POST", "/api/v1/jobs/" + cancel.dataset.jobId + "/cancel", {});
          setStatus(job.sample_id, job);
        } catch (error) {
          window.alert(error.message);
        }
        poll();
      }
    });

    function sampleName(sampleId) {
      const row = rowFor(sampleId);
      const name = row && row.cells[0] ? row.cells[0].textContent.trim() : "";
      return name || "sample " + sampleId;
    }

    // "Launch all samples not analysed": the answer is {launched: [job], skipped: [{sample_id, reason}]}; what was
    // skipped and why stays written under the button (the status cells are rewritten by polling).
    document.getElementById("launch-all").addEventListener("click", async (event) => {
      const button = event.target;
      const report = document.getElementById("launch-all-report");
      button.disabled = true;
      report.replaceChildren();
      report.className = "launch-report";
      try {
        const result = await api("POST", "/api/v1/sample_sets/" + setId + "/jobs", { config_id: configId });
        const launched = result.launched || [];
        const skipped = result.skipped || [];
        launched.forEach((job) => setStatus(job.sample_id, job));
        let summary = launched.length === 0 ? "No analysis launched"
          : "Launched " + launched.length + " analys" + (launched.length === 1 ? "is" : "es");
        if (launched.length === 0 && skipped.length === 0) summary += ": every sample is already analysed with this configuration";
        report.appendChild(el("span", { text: summary + (skipped.length ? "; skipped:" : ".") }));
        if (skipped.length) {
          report.appendChild(el("ul", { class: "skipped" }, skipped.map((s) =>
            el("li", { "data-sample-id": s.sample_id }, [el("strong", { text: sampleName(s.sample_id) }), ": " + (s.reason || "skipped")]))));
        }
      } catch (error) {
        report.className = "launch-report error";
        report.textContent = "Nothing launched: " + error.message;
      } finally {
        button.disabled = false;
      }
      poll();
    });

    function addSampleRow(sample) {
      const empty = table.querySelector(".empty-row");
      if (empty) empty.remove();
      let row = rowFor(sample.id);
      const actions = el("td", { class: "actions" });
      if (sample.size) {
        const button = el("button", { type: "button", class: "launch", "data-sample-id": sample.id, text: "Launch" });
        if (!configId) button.disabled = true;
        actions.appendChild(button);
        actions.appendChild(el("a", { href: "/api/v1/samples/" + sample.id + "/file", text: "Download" }));
      }
      const cells = [
        el("td", { text: sample.filename || "" }), el("td", { text: sample.sampling_date || "" }),
        el("td", { text: sample.info || "" }), el("td", { class: "num", text: humanSize(sample.size) }),
        el("td", { class: "status", "aria-live": "polite" }, [sample.size ? stateBadge(null) : el("span", { class: "state state-none", text: "no file" })]),
        actions,
      ];
      if (!row) { row = el("tr", { "data-sample-id": sample.id }); table.appendChild(row); }
      row.replaceChildren(...cells);
    }

    // Uploads: at most two at a time; each file = create the sample (JSON) then PUT the raw file (progress via XHR).
    const list = document.getElementById("uploads");
    const queue = [];
    let running = 0;
    const MAX_PARALLEL = 2;

    function pump() {
      while (running < MAX_PARALLEL && queue.length) {
        const item = queue.shift();
        running++;
        item.start().finally(() => { running--; pump(); });
      }
    }

    // An upload that cannot succeed (the server refused the content: empty, truncated, not FASTA/FASTQ, too
    // large) must not leave behind the sample created for it: that sample is deleted again. An interrupted one
    // (network, cancel, server unavailable) keeps its sample and offers "Retry" (same sample) or "Remove".
    const REFUSED_CONTENT = [400, 413, 415, 422];

    async function removeSample(sampleId) {
      await api("DELETE", "/api/v1/samples/" + sampleId + "?with_results=true&confirm=true");
      const row = rowFor(sampleId);
      if (row) row.remove();
    }

    function Upload(file, samplingDate, info, existingSample) {
      const li = el("li", { class: "upload" });
      const name = el("span", { class: "file", text: file.name, title: file.name });
      const bar = el("progress", { max: "100", value: "0", "aria-label": "Upload of " + file.name });
      const msg = el("span", { class: "msg", text: "waiting" });
      const cancel = el("button", { type: "button", class: "cancel", text: "Cancel" });
      const retry = el("button", { type: "button", class: "retry", text: "Retry", hidden: "" });
      const remove = el("button", { type: "button", class: "remove", text: "Remove", hidden: "",
        title: "Delete the sample created for this file" });
      const buttons = el("span", { class: "buttons" }, [cancel, retry, remove]);
      li.append(name, bar, msg, buttons);
      list.appendChild(li);
      // created: this upload made the sample (so it may remove it); an existing sample is never removed here
      const item = { sample: existingSample || null, created: false, xhr: null, cancelled: false };

      function fail(text, retryable) {
        li.className = "upload failed";
        msg.textContent = text;
        cancel.hidden = true;
        retry.hidden = !retryable;
        remove.hidden = !(retryable && item.created && item.sample);
        if (retryable) retry.focus();
      }

      async function refused(text) {
        if (!item.created || !item.sample) { fail(text, false); return; }
        try {
          await removeSample(item.sample.id);
          item.sample = null;
          item.created = false;
          fail(text + " (the sample created for this file was removed)", false);
        } catch (error) {
          fail(text + " (the sample was kept without a file: " + error.message + ")", false);
        }
      }

      remove.addEventListener("click", async () => {
        remove.disabled = true;
        try {
          await removeSample(item.sample.id);
          item.sample = null;
          item.created = false;
          retry.hidden = true;
          remove.hidden = true;
          msg.textContent = "removed";
        } catch (error) {
          msg.textContent = "could not remove the sample: " + error.message;
        } finally {
          remove.disabled = false;
        }
      });

      item.start = async function () {
        item.cancelled = false;
        li.className = "upload running";
        retry.hidden = true;
        remove.hidden = true;
        cancel.hidden = false;
        msg.textContent = "starting";
        try {
          if (!item.sample) {
            const body = { filename: file.name, info: info || "" };
            if (samplingDate) body.sampling_date = samplingDate;
            item.sample = await api("POST", "/api/v1/sample_sets/" + setId + "/samples", body);
            item.created = true;
            addSampleRow(item.sample);
          }
        } catch (error) {
          fail(error.message, true);
          return;
        }
        if (item.cancelled) { fail("cancelled", true); return; }
        await new Promise((resolve) => {
          const xhr = new XMLHttpRequest();
          item.xhr = xhr;
          xhr.open("PUT", "/api/v1/samples/" + item.sample.id + "/file?filename=" + encodeURIComponent(file.name));
          xhr.setRequestHeader("X-CSRF-Token", csrf());
          xhr.setRequestHeader("Content-Type", "application/octet-stream");
          xhr.upload.onprogress = (event) => {
            if (event.lengthComputable) {
              const pct = Math.round((100 * event.loaded) / event.total);
              bar.value = pct;
              msg.textContent = pct + "% of " + humanSize(event.total);
            }
          };
          xhr.onload = () => {
            let data = null;
            try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
            if (xhr.status >= 200 && xhr.status < 300) {
              li.className = "upload done";
              bar.value = 100;
              msg.textContent = "uploaded";
              cancel.hidden = true;
              addSampleRow(data || item.sample);
              resolve();
            } else {
              const text = (data && data.error && data.error.message) || ("error " + xhr.status);
              if (REFUSED_CONTENT.includes(xhr.status)) refused(text).then(resolve);
              else { fail(text, true); resolve(); }
            }
          };
          xhr.onerror = () => { fail("network error", true); resolve(); };
          xhr.onabort = () => { fail("cancelled", true); resolve(); };
          xhr.send(file);
        });
      };

      cancel.addEventListener("click", () => {
        item.cancelled = true;
        if (item.xhr) item.xhr.abort();
        const index = queue.indexOf(item);
        if (index >= 0) { queue.splice(index, 1); fail("cancelled", true); }
      });
      retry.addEventListener("click", () => { queue.push(item); msg.textContent = "waiting"; li.className = "upload"; pump(); });
      return item;
    }

    // A sample left without its file (e.g. the page was closed during an upload): "Upload file" on its row sends
    // the chosen file into that same sample.
    table.addEventListener("change", (event) => {
      const input = event.target.closest("input.row-file");
      if (!input || !input.files.length) return;
      queue.push(Upload(input.files[0], null, null, { id: Number(input.dataset.sampleId) }));
      input.value = "";
      pump();
    });

    document.getElementById("upload-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = document.getElementById("files");
      const date = document.getElementById("sampling_date").value;
      const info = document.getElementById("sample_info").value;
      Array.from(input.files).forEach((file) => queue.push(Upload(file, date, info)));
      input.value = "";
      pump();
    });

    poll();
  }

  // ---- results page ---------------------------------------------------------------------------------------------
  function initResultsPage(root) {
    const setId = Number(root.dataset.setId);
    const configId = Number(root.dataset.configId);
    document.querySelectorAll("form.rename").forEach((form) => {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const cloneId = form.dataset.cloneId;
        const input = form.querySelector("input");
        const tag = form.querySelector("select[name=tag]");
        const button = form.querySelector("button");
        button.disabled = true;
        try {
          await api("PUT", "/api/v1/sample_sets/" + setId + "/results/" + configId + "/clones/" + encodeURIComponent(cloneId),
            { name: input.value.trim(), tag: tag && tag.value !== "" ? Number(tag.value) : null });
          if (tag) tag.className = "tag-select tag-" + (tag.value === "" ? "none" : tag.value);
          const row = form.closest("tr");
          row.classList.add("saved");
          button.textContent = "Saved";
          setTimeout(() => { button.textContent = "Save"; row.classList.remove("saved"); }, 2000);
        } catch (error) {
          alert("Could not save the name: " + error.message);
        } finally {
          button.disabled = false;
        }
      });
    });
    const png = document.getElementById("export-png");
    if (png) png.addEventListener("click", () => {
      const svg = document.querySelector(".plot svg");
      const data = new XMLSerializer().serializeToString(svg);
      const image = new Image();
      image.onload = () => {
        const canvas = document.createElement("canvas");
        canvas.width = svg.viewBox.baseVal.width * 2;
        canvas.height = svg.viewBox.baseVal.height * 2;
        const context = canvas.getContext("2d");
        context.scale(2, 2);
        context.drawImage(image, 0, 0);
        const link = document.createElement("a");
        link.download = "followup-set" + setId + ".png";
        link.href = canvas.toDataURL("image/png");
        link.click();
      };
      image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(data);
    });
  }

  // ---- administration forms: <form class="api-form" data-method data-path> sends its fields as JSON ------------
  function formBody(form) {
    const body = {};
    // form.elements includes the inputs placed elsewhere in the page with form="<id>" (table rows)
    Array.from(form.elements).forEach((input) => {
      if (!input.name || input.disabled || input.tagName === "BUTTON") return;
      if (input.type === "checkbox" && input.hasAttribute("data-array")) {
        body[input.name] = body[input.name] || [];
        if (input.checked) body[input.name].push(input.value);
        return;
      }
      let value;
      if (input.type === "checkbox") value = input.checked;
      else if (input.value === "" && !input.hasAttribute("data-keep-empty")) return;
      else {
        const type = input.dataset.type;
        value = type === "int" ? Number(input.value) : type === "bool" ? input.value === "true" : input.value;
      }
      // "fields.first_name" -> {"fields": {"first_name": ...}}
      const path = input.name.split(".");
      let target = body;
      path.slice(0, -1).forEach((key) => { target = target[key] = target[key] || {}; });
      target[path[path.length - 1]] = value;
    });
    return body;
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form.api-form");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const method = form.dataset.method || "POST";
    const errorBox = form.querySelector(".form-error");
    if (errorBox) errorBox.textContent = "";
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const answer = await api(method, form.dataset.path, method === "DELETE" ? undefined : formBody(form));
      const output = form.querySelector(".form-result");
      if (answer && answer.reset_token && output) {
        output.textContent = "Created. Give the user this single-use password-reset token: " + answer.reset_token;
        return;
      }
      if (form.dataset.redirect) window.location = form.dataset.redirect; else window.location.reload();
    } catch (error) {
      if (errorBox) errorBox.textContent = error.message; else window.alert(error.message);
    } finally {
      if (button) button.disabled = false;
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    initSizes();
    const set = document.getElementById("set");
    if (set) initSetPage(set);
    const results = document.getElementById("results");
    if (results) initResultsPage(results);
  });
})();
