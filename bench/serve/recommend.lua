-- wrk: POST /v1/recommend for a rotating set of known customers.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"model": "rec-sasrec", "user": "u%05d", "k": 10}', (n % 1500) + 1)
  return wrk.format(nil, "/v1/recommend", nil, body)
end
