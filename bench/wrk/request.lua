-- One request shape for wrk, from the environment, and a JSON summary line at the end.
--   WRK_METHOD        GET (default) or POST
--   WRK_TOKEN         sent as "Authorization: Bearer <token>"
--   WRK_BODY          request body; WRK_CONTENT_TYPE its Content-Type
--   WRK_MAX_REQUESTS  each thread stops after this many responses; 0 = run until -d ends
-- The summary is printed as one line starting with "WRK_JSON " so the harness can find it
-- among wrk's own output. Latencies are in microseconds.
local method = os.getenv("WRK_METHOD") or "GET"
local token = os.getenv("WRK_TOKEN")
local body = os.getenv("WRK_BODY")
local content_type = os.getenv("WRK_CONTENT_TYPE")
local max_requests = tonumber(os.getenv("WRK_MAX_REQUESTS") or "0")

wrk.method = method
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
if body and body ~= "" then wrk.body = body end
if content_type and content_type ~= "" then wrk.headers["Content-Type"] = content_type end

if max_requests > 0 then
  -- Defined only when a count is asked for: wrk parses responses into Lua only if it exists.
  local seen = 0
  function response(status, headers, body)
    seen = seen + 1
    if seen >= max_requests then wrk.thread:stop() end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
