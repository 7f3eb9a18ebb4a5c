-- wrk: POST /relation-tuples/batch/check with the 500 granted bench tuples in batches of
-- BENCH_BATCH, in turn, like ory-iam's check_batch(500) sends them. The raw HTTP limit of the
-- batch endpoint: time per 500 checks = ceil(500 / BENCH_BATCH) / requests per second.
-- Every answer is checked: a batch counts as wrong unless it is a 200 with at least one result
-- and every result allowed (all bench tuples are granted).
local ns, rel, subject = os.getenv("BENCH_NAMESPACE"), os.getenv("BENCH_RELATION"), os.getenv("BENCH_SUBJECT")
local count, size = tonumber(os.getenv("BENCH_COUNT")), tonumber(os.getenv("BENCH_BATCH"))
local bodies = {}
for first = 0, count - 1, size do
  local items = {}
  for i = first, math.min(first + size, count) - 1 do
    items[#items + 1] = string.format('{"namespace":"%s","object":"bench-doc-%03d","relation":"%s","subject_id":"%s"}', ns, i, rel, subject)
  end
  bodies[#bodies + 1] = '{"tuples":[' .. table.concat(items, ",") .. ']}'
end
local threads, i = {}, 0
wrong = 0 -- global: done() reads it from each thread

setup = function(thread)
  threads[#threads + 1] = thread
end

request = function()
  i = i + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }, bodies[(i % #bodies) + 1])
end

response = function(status, headers, body)
  local _, results = string.gsub(body, '"allowed":', "")
  local _, allowed = string.gsub(body, '"allowed":%s*true', "")
  if status ~= 200 or results == 0 or allowed ~= results then wrong = wrong + 1 end
end

done = function(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("wrong") or 0) end
  io.write(string.format("BENCH {\"requests\": %d, \"duration_us\": %d, \"errors\": %d, \"non2xx\": %d, \"wrong\": %d, \"p50_us\": %d, \"p99_us\": %d}\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, bad, latency:percentile(50), latency:percentile(99)))
end
