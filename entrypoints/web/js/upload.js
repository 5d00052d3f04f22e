// A resumable upload of a big file through the multipart routes: POST /files/multipart, then
// presigned part URLs (POST /files/{id}/multipart/parts, a batch at a time: they expire), each
// part PUT straight to its URL with fetch, a few at a time, its ETag kept; then
// POST /files/{id}/multipart/complete. Pause aborts the parts in flight; Resume (also after a
// reload, with the same file picked again) asks GET /files/{id}/multipart which parts arrived
// and sends only the others; Cancel aborts the upload (DELETE /files/{id}/multipart).
//
// The upload's file id and the chosen file's name and size live in localStorage (per user), so
// a reload can resume it. Events: "change" (state or progress), with `this.state`:
// idle | uploading | paused | completing | done. A run that fails (a part the storage refused
// or could not be sent, a completion refused) throws to the page and leaves the upload paused
// with `this.failure` saying why: Resume tries again from the parts that arrived.

import { ApiError } from "./api.js";

const STORAGE_PREFIX = "flowhub.upload.";
const CONCURRENCY = 3; // parts in flight at once
const URL_BATCH = 12; // part URLs asked at a time (each valid 15 minutes)

export class ResumableUpload extends EventTarget {
  constructor(api, userId) {
    super();
    this.api = api;
    this.key = STORAGE_PREFIX + userId;
    this.file = null; // the File being sent (none after a reload until it is picked again)
    this.etags = new Map(); // part number -> ETag of the parts that arrived
    this.state = "idle";
    this._controller = null;
    this._stopping = null; // "pause" | "cancel" while stopping on purpose
    // why the upload stopped when it failed (not paused on purpose): the page keeps it in the
    // upload's status line, where it outlives the notice, until the next run
    this.failure = null;
    try {
      this.record = JSON.parse(localStorage.getItem(this.key) || "null");
    } catch {
      this.record = null;
    }
    if (this.record) this.state = "paused"; // left by a reload: resumable once the file is picked
  }

  get sent() {
    return this.record ? this.record.sent : 0;
  }

  get total() {
    return this.record ? this.record.size : 0;
  }

  get running() {
    return this.state === "uploading" || this.state === "completing";
  }

  // A new upload of `file`: announced, then its parts.
  async start(file) {
    if (this.record) throw new Error("An upload is already under way: resume or cancel it first.");
    const ticket = await this.api.startMultipart(file);
    this.file = file;
    this.etags = new Map();
    this.record = {
      file_id: ticket.file.id,
      name: file.name,
      size: file.size,
      type: file.type,
      part_size: ticket.part_size,
      part_count: ticket.part_count,
      sent: 0,
    };
    this._save();
    return this._run();
  }

  // Go on with the saved upload: `file` must be the same one (name and size) when the page
  // does not hold it (after a reload). Only the parts the server does not hold go up.
  async resume(file = null) {
    if (!this.record || this.running) return null;
    const { name, size } = this.record;
    const candidate = file && file.name ? file : this.file;
    if (!candidate) throw new Error(`Choose the file again to resume: ${name} (${size} bytes).`);
    if (candidate.name !== name || candidate.size !== size) {
      throw new Error(`That is not the file of this upload: choose ${name} (${size} bytes) to resume, or cancel.`);
    }
    let status;
    try {
      status = await this.api.multipartStatus(this.record.file_id);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
        this._forget(); // given up by the server (an hour passed) or gone: nothing to resume
        this._set("idle");
      }
      throw error;
    }
    this.file = candidate;
    this.record.part_size = status.part_size;
    this.record.part_count = status.part_count;
    this.etags = new Map();
    let sent = 0;
    for (const part of status.parts) {
      if (part.size === this._bytes(part.part_number)) {
        this.etags.set(part.part_number, part.etag);
        sent += part.size;
      }
    }
    this.record.sent = sent;
    this._save();
    return this._run();
  }

  // Stop sending: the parts in flight are aborted (the ones that arrived stay on the server).
  pause() {
    if (this.state !== "uploading") return;
    this._stopping = "pause";
    if (this._controller) this._controller.abort();
    this._set("paused");
  }

  // Give the upload up: its parts and its pending file are deleted on the server.
  async cancel() {
    if (!this.record) return;
    this._stopping = "cancel";
    if (this._controller) this._controller.abort();
    try {
      await this.api.abortMultipart(this.record.file_id);
    } catch (error) {
      // 404/409: nothing to abort any more (gone, or given up by the server)
      if (!(error instanceof ApiError && (error.status === 404 || error.status === 409))) {
        if (this.state !== "paused") this._set("paused");
        throw error;
      }
    }
    this._forget();
    this._set("idle");
  }

  // The size of part `number`: part_size, the last one the rest.
  _bytes(number) {
    const { part_size: partSize, size } = this.record;
    return Math.min(partSize, size - (number - 1) * partSize);
  }

  async _run() {
    const controller = new AbortController();
    this._controller = controller;
    this._stopping = null;
    this.failure = null;
    this._set("uploading");
    const id = this.record.file_id;
    const missing = [];
    for (let n = 1; n <= this.record.part_count; n += 1) if (!this.etags.has(n)) missing.push(n);
    try {
      for (let i = 0; i < missing.length; i += URL_BATCH) {
        const batch = await this.api.multipartUrls(id, missing.slice(i, i + URL_BATCH));
        if (controller.signal.aborted) return null;
        const queue = [...batch.parts];
        const worker = async () => {
          while (queue.length && !controller.signal.aborted) await this._send(queue.shift(), controller.signal);
        };
        await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
        if (controller.signal.aborted) return null;
      }
      this._set("completing");
      const parts = [...this.etags].sort((a, b) => a[0] - b[0]).map(([part_number, etag]) => ({ part_number, etag }));
      const meta = await this.api.completeMultipart(id, parts);
      this._forget();
      this.file = null;
      this._set("done");
      return meta;
    } catch (error) {
      const onPurpose = this._stopping !== null && this._controller === controller;
      controller.abort(); // the other parts in flight stop too
      if (onPurpose || this._controller !== controller) return null; // paused or cancelled
      this.failure = (error && (error.readable || error.message)) || "Something went wrong.";
      this._set("paused"); // Resume goes on from the parts that arrived
      throw error;
    }
  }

  // PUT one part; a link that expired (403) is asked again once.
  async _send(part, signal) {
    const number = part.part_number;
    const start = (number - 1) * this.record.part_size;
    const blob = this.file.slice(start, start + this._bytes(number));
    let etag;
    try {
      etag = await this.api.putPart(part.url, blob, signal);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 403) || signal.aborted) throw error;
      const fresh = await this.api.multipartUrls(this.record.file_id, [number]);
      etag = await this.api.putPart(fresh.parts[0].url, blob, signal);
    }
    if (signal.aborted) return;
    this.etags.set(number, etag);
    this.record.sent += blob.size;
    this._save();
    this._set(this.state);
  }

  _save() {
    localStorage.setItem(this.key, JSON.stringify(this.record));
  }

  _forget() {
    this.record = null;
    this.failure = null;
    this.etags = new Map();
    localStorage.removeItem(this.key);
  }

  _set(state) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("change", { detail: { state } }));
  }
}
