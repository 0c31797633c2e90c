-- wrk: POST /v1/reviews/analyze with 32 reviews per request.
wrk.method = "POST"
wrk.path = "/v1/reviews/analyze"
wrk.headers["Content-Type"] = "application/json"
local texts = {}
for i = 1, 32 do
  if i % 2 == 0 then
    texts[i] = '"Love this dress, the fabric is soft and it fits perfectly, I got so many compliments ' .. i .. '"'
  else
    texts[i] = '"Very disappointed, the material is cheap and it ran small so I returned it ' .. i .. '"'
  end
end
wrk.body = '{"texts": [' .. table.concat(texts, ",") .. ']}'
