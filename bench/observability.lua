-- wrk script: nine requests to the logging route, then one to the failing route (a 500).
local n = 0
request = function()
  n = n + 1
  if n % 10 == 0 then
    return wrk.format("GET", "/api/v1/obs/boom")
  end
  return wrk.format("GET", "/api/v1/obs/ok")
end
