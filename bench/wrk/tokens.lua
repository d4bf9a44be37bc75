-- GET requests that cycle through many users' access tokens, one per line of the file
-- WRK_TOKENS_FILE, each thread starting at its own offset: the scale benchmark
-- (bench/sections/scale.mjs) reads a different user's record on each request, not one record
-- again and again. WRK_PATH is the path requested. The summary line is request.lua's: that
-- script (WRK_BASE_SCRIPT, set by bench/lib/wrk.mjs) runs first, then `request` is replaced.
dofile(os.getenv("WRK_BASE_SCRIPT"))
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
