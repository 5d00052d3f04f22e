-- wrk script of bench/load.py: GET the URL's path, with a bearer token picked at random from
-- BENCH_TOKENS_FILE (one per line; none: no Authorization header) so that no user's API quota
-- (120 a minute) is reached, and, with BENCH_DELAY_MS, a pause of that many milliseconds
-- (dithered, wrk's delay() takes whole ms) before each request of a connection: c connections
-- then send at most c * 1000 / BENCH_DELAY_MS requests a second (the rate-limited phase).
-- done() prints `bench status:<code> <count>` for every status seen (bench/wrk.py reads them).

local tokens_file = os.getenv("BENCH_TOKENS_FILE") or ""
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

local threads = {}
local tokens = {}
statuses = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  if tokens_file ~= "" then
    for line in io.lines(tokens_file) do
      table.insert(tokens, line)
    end
  end
  math.randomseed(os.time())
end

function request()
  local headers = {}
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]
  end
  return wrk.format("GET", nil, headers)
end

if delay_ms > 0 then
  function delay()
    return math.floor(delay_ms + math.random())
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  for status, count in pairs(totals) do
    io.write(string.format("bench status:%d %d\n", status, count))
  end
end
