-- wrk: GET /sessions/whoami with the bench session tokens in turn (file in BENCH_TOKENS,
-- one token a line), like the clients, which spread their workers over the same tokens.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local i = 0

request = function()
  i = i + 1
  return wrk.format("GET", nil, { ["X-Session-Token"] = tokens[(i % #tokens) + 1], ["Accept"] = "application/json" })
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH {\"requests\": %d, \"duration_us\": %d, \"errors\": %d, \"non2xx\": %d, \"p50_us\": %d, \"p99_us\": %d}\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
