-- wrk script of bench/http.ts: one request shape from the environment, and a machine-readable
-- summary line at the end.
--
--   BENCH_METHOD     GET or POST (default POST)
--   BENCH_BODY_FILE  file whose content is the body (optional)
--   BENCH_HEADERS    "Name: value" lines separated by "\n" (optional)
--
-- A body containing "{{n}}" gets a value unique per request (thread id and a counter), e.g. a
-- fresh CALL_ID per event; otherwise the request is built once and reused (wrk's fast path).

local method = os.getenv("BENCH_METHOD") or "POST"
local body_file = os.getenv("BENCH_BODY_FILE")
local header_lines = os.getenv("BENCH_HEADERS") or ""

local body = nil
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  body = f:read("*a")
  f:close()
end

local headers = {}
for line in string.gmatch(header_lines, "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then headers[name] = value end
end

wrk.method = method
wrk.body = body
for name, value in pairs(headers) do wrk.headers[name] = value end

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

if body and string.find(body, "{{n}}", 1, true) then
  local counter = 0
  function request()
    counter = counter + 1
    local unique = string.format("%d-%d", thread_id or 0, counter)
    local b = string.gsub(body, "{{n}}", unique)
    return wrk.format(nil, nil, nil, b)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,' ..
      '"p99_us":%d,"max_us":%d,"mean_us":%.1f,"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
