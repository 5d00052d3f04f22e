-- wrk script for POST /api/v1/auth/login (bench/auth.py): every request logs in one of the
-- benchmark users in turn, from an address of its own, so neither the per-IP login limit nor
-- an account's failure counter is ever reached. Run with -t1: the counter, so the addresses,
-- are per thread.
--
-- Environment (set by bench/auth.py):
--   BENCH_EMAIL_FORMAT  string.format pattern of the emails, given the user's index
--   BENCH_USERS         how many users (indices 0 .. BENCH_USERS-1)
--   BENCH_PASSWORD      their password
--   BENCH_IP_OCTET      second octet of the client addresses: 10.<octet>.x.y, one per request
-- done() prints `bench status:<code> <count>` for every status seen and `bench bad_body <n>` for
-- 200s without an access token; bench/wrk.py reads these lines.

local email_format = os.getenv("BENCH_EMAIL_FORMAT")
local users = tonumber(os.getenv("BENCH_USERS"))
local password = os.getenv("BENCH_PASSWORD")
local octet = tonumber(os.getenv("BENCH_IP_OCTET"))

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local sent = 0
statuses = {}
bad_body = 0

function request()
  local n = sent
  sent = sent + 1
  local body = string.format('{"email":"%s","password":"%s"}',
    string.format(email_format, n % users), password)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Fly-Client-IP"] = string.format("10.%d.%d.%d", octet, math.floor(n / 256) % 256, n % 256),
  }
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 and not string.find(body, '"access_token"', 1, true) then
    bad_body = bad_body + 1
  end
end

function done(summary, latency, requests)
  local totals = {}
  local bad = 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
    bad = bad + thread:get("bad_body")
  end
  for status, count in pairs(totals) do
    io.write(string.format("bench status:%d %d\n", status, count))
  end
  io.write(string.format("bench bad_body %d\n", bad))
end
