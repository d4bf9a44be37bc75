-- GET requests that cycle through many users' access tokens, one per line of the file
-- WRK_TOKENS_FILE, each thread starting at its own offset: the scale benchmark
-- (bench/sections/scale.mjs) reads a different user's record on each request, not one record
-- again and again. WRK_PATH is the path requested. The summary line is request.lua's.
local tokens = {}
for line in io.lines(os.getenv("WRK_TOKENS_FILE")) do
  if line ~= "" then tokens[#tokens + 1] = line end
end
local path = os.getenv("WRK_PATH") or "/me"
local next_index = 1

function init(args)
  next_index = (math.random(#tokens)) -- a different starting user per thread
end

function request()
  local token = tokens[next_index]
  next_index = next_index % #tokens + 1
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
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
