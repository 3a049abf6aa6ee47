/**
 * Prometheus metrics (text exposition format 0.0.4): HTTP requests and latency by route, calls
 * by direction and final status, the Bitrix24 sync backlog and failures, OAuth token refreshes
 * and Vault renewals — what the reliability tests exercise, for operators to alert on.
 *
 * The counters live in one `Metrics` object created with the services (one per app, so two
 * apps in one process, as in tests, count apart) and handed to the modules that count.
 *
 * @module
 */
type Labels = Record<string, string>;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

/**
 * The series key of a label set: the values alone (every call for one metric passes the same
 * label names in the same order), cheaper than the exposition text, which is built at render.
 */
function seriesKey(labels: Labels): string {
  return Object.values(labels).join("\u0000");
}

/** Most series one metric keeps; label sets beyond it are counted in one `overflow` series. */
export const MAX_SERIES_PER_METRIC = 500;

/**
 * The series key and labels `labels` are counted under in `series`: their own while the metric
 * has room, else the overflow series (every label `overflow`), so no label value coming from a
 * request can grow the exposition without bound.
 */
function boundedSeries(series: Map<string, unknown>, labels: Labels): [string, Labels] {
  const key = seriesKey(labels);
  if (series.has(key) || series.size < MAX_SERIES_PER_METRIC - 1) return [key, labels];
  const overflow = Object.fromEntries(Object.keys(labels).map((name) => [name, "overflow"]));
  return [seriesKey(overflow), overflow];
}

/** A counter with labels. */
class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}

  /** Adds `by` to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    const [key, counted] = boundedSeries(this.values, labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels: counted, value: by });
  }

  /** The exposition lines. */
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) {
      lines.push(`${this.name}${labelText(labels)} ${value}`);
    }
    return lines;
  }
}

/** A histogram with fixed buckets and labels. */
class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(readonly name: string, readonly help: string, readonly buckets = LATENCY_BUCKETS) {}

  /** Counts `value` into the series of `labels`. */
  observe(labels: Labels, value: number): void {
    const [key, counted] = boundedSeries(this.series, labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: counted, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = this.buckets.length - 1; i >= 0 && value <= this.buckets[i]; i--) s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  /** The exposition lines. */
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) =>
        lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`)
      );
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

function gauge(name: string, help: string, value: number, type = "gauge"): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`];
}

/** One app's counters, and the exposition of them with the gauges read live. */
export class Metrics {
  /** HTTP requests by route pattern, method and status. */
  readonly httpRequests = new Counter("http_requests_total", "HTTP requests served.");
  /** HTTP latency by route pattern. */
  readonly httpDuration = new Histogram(
    "http_request_duration_seconds",
    "HTTP request latency.",
  );
  /** Calls reported ended by phones, by direction and final SIP status. */
  readonly callsEnded = new Counter("calls_ended_total", "Calls reported ended by phones.");
  /** The Bitrix24 call sync (counted by `CallSync`). */
  readonly bitrixSync = { registered: 0, finished: 0, failures: 0 };
  /** OAuth token refreshes (counted by `PortalClients`). */
  readonly oauth = { refreshes: 0, refreshFailures: 0 };
  /** The Vault client's logins and renewals. */
  readonly vault = { logins: 0, renewals: 0, renewalFailures: 0 };

  /** The whole exposition; the sync backlog is asked of the database now. */
  async render(live: {
    calls: { countPending(): Promise<number> };
    /** The push channel: open streams on this instance, its counters, whether it listens. */
    push?: {
      streamCount: number;
      listening: boolean;
      counters: { published: number; delivered: number; relistens: number };
    };
  }): Promise<string> {
    const backlog = await live.calls.countPending().catch(() => -1);
    const memory = Deno.memoryUsage();
    const counter = (name: string, help: string, value: number) =>
      gauge(name, help, value, "counter");
    return [
      ...gauge("process_resident_memory_bytes", "Resident memory size in bytes.", memory.rss),
      ...gauge("deno_heap_total_bytes", "V8 heap size in bytes.", memory.heapTotal),
      ...gauge("deno_heap_used_bytes", "V8 heap in use in bytes.", memory.heapUsed),
      ...gauge("deno_external_memory_bytes", "Memory outside the V8 heap.", memory.external),
      ...this.httpRequests.render(),
      ...this.httpDuration.render(),
      ...this.callsEnded.render(),
      ...gauge("bitrix_sync_backlog", "Call rows waiting for Bitrix24 (-1: unknown).", backlog),
      ...counter(
        "bitrix_sync_registered_total",
        "Calls registered in Bitrix24.",
        this.bitrixSync.registered,
      ),
      ...counter(
        "bitrix_sync_finished_total",
        "Calls finished in Bitrix24.",
        this.bitrixSync.finished,
      ),
      ...counter(
        "bitrix_sync_failures_total",
        "Failed Bitrix24 sync attempts.",
        this.bitrixSync.failures,
      ),
      ...counter(
        "bitrix_token_refreshes_total",
        "OAuth token refreshes done.",
        this.oauth.refreshes,
      ),
      ...counter(
        "bitrix_token_refresh_failures_total",
        "OAuth token refreshes that failed.",
        this.oauth.refreshFailures,
      ),
      ...(live.push
        ? [
          ...gauge("push_streams", "Push streams open on this instance.", live.push.streamCount),
          ...gauge(
            "push_listening",
            "1 while this instance listens for push notifications.",
            live.push.listening ? 1 : 0,
          ),
          ...counter(
            "push_published_total",
            "Push messages published by this instance.",
            live.push.counters.published,
          ),
          ...counter(
            "push_delivered_total",
            "Push messages sent on this instance's streams.",
            live.push.counters.delivered,
          ),
          ...counter(
            "push_relistens_total",
            "Times this instance had to listen again (a lost notification connection).",
            live.push.counters.relistens,
          ),
        ]
        : []),
      ...counter("vault_logins_total", "Vault AppRole logins.", this.vault.logins),
      ...counter("vault_renewals_total", "Vault token renewals.", this.vault.renewals),
      ...counter(
        "vault_renewal_failures_total",
        "Failed background Vault renewals.",
        this.vault.renewalFailures,
      ),
    ].join("\n") + "\n";
  }
}
