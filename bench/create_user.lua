-- wrk script: CreateUser with a fresh name on every request, spread over accounts so the
-- 2,000-users-a-region quota is never reached. Each wrk thread gets its own account range.
local counter = 0
thread_base = 0
next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_base", next_thread * 100000000)
end

function request()
  counter = counter + 1
  local account = string.format("%012d", 100000000000 + thread_base + math.floor(counter / 1500))
  local name = "u" .. (counter % 1500)
  local body = '{"UserName":"' .. name .. '","AuthenticationMode":{"Type":"password","Passwords":["bench-password-0001"]},"AccessString":"on ~* +@all"}'
  return wrk.format("POST", "/", {
    ["Content-Type"] = "application/x-amz-json-1.1",
    ["X-Amz-Target"] = "AmazonMemoryDB.CreateUser",
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=" .. account .. "/20261121/us-east-1/memorydb/aws4_request, SignedHeaders=host, Signature=0",
  }, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("acknowledged=%d errors=%d seconds=%.2f p99_ms=%.2f\n",
    summary.requests - errors, errors, summary.duration / 1e6, latency:percentile(99) / 1000))
end
