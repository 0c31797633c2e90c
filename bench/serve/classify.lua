-- wrk: POST /v1/images/classify with one PNG (path in the IMAGE environment variable).
local f = assert(io.open(os.getenv("IMAGE"), "rb"))
wrk.method = "POST"
wrk.path = "/v1/images/classify"
wrk.headers["Content-Type"] = "image/png"
wrk.body = f:read("*a")
f:close()
