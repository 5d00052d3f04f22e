-- wrk script of bench/peer_bench.py, the same for FlowHub and the peer.
--   BENCH_MODE=get    GET the URL's path; with BENCH_TOKENS (a file, one access token a line),
--                     each request carries the next token as `Authorization: Bearer`
--   BENCH_MODE=login  POST {"email", "password"} to the URL's path, rotating over BENCH_EMAILS
--                     (a file, one a line) with BENCH_PASSWORD, each request from an address of
--                     its own (Fly-Client-IP: 10.<BENCH_IP_OCTET>.x.y) so the per-IP limit never
--                     answers
--   BENCH_CLIENT_ADDRESSES=N  (get) each request carries X-Forwarded-For and Fly-Client-IP
--                     10.<BENCH_IP_OCTET>.0.<n mod N>: N clients behind the platform's proxy
-- done() prints `bench status:<code> <count>` for every status seen (bench/wrk.py's format).

local mode = os.getenv("BENCH_MODE") or "get"
local octet = tonumber(os.getenv("BENCH_IP_OCTET") or "1")
local password = os.getenv("BENCH_PASSWORD") or ""
local addresses = tonumber(os.getenv("BENCH_CLIENT_ADDRESSES") or "0")

local function lines(name)
  local out = {}
  if name == nil or name == "" then return out end
  for line in io.lines(name) do
    if line ~= "" then table.insert(out, line) end
  end
  return out
end

local tokens = lines(os.getenv("BENCH_TOKENS"))
local emails = lines(os.getenv("BENCH_EMAILS"))
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local sent = 0
statuses = {}

function request()
  local n = sent
  sent = sent + 1
  if mode == "login" then
    local body = string.format('{"email":"%s","password":"%s"}', emails[(n % #emails) + 1], password)
    local headers = {
      ["Content-Type"] = "application/json",
      ["Fly-Client-IP"] = string.format("10.%d.%d.%d", octet, math.floor(n / 256) % 256, n % 256),
    }
    return wrk.format("POST", nil, headers, body)
  end
  local headers = {}
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]
  end
  if addresses > 0 then
    local address = string.format("10.%d.%d.%d", octet, math.floor((n % addresses) / 256), n % addresses % 256)
    headers["X-Forwarded-For"] = address
    headers["Fly-Client-IP"] = address
  end
  return wrk.format("GET", nil, headers, nil)
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
