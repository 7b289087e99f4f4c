-- wrk script: POST /api/v1/search with a rotation of real questions (bench/queries.txt).
local queries = {}
for line in io.lines("bench/queries.txt") do
  if #line > 0 then table.insert(queries, line) end
end
local i = 0
request = function()
  i = i % #queries + 1
  local body = string.format('{"query": %q, "k": 8}', queries[i])
  return wrk.format("POST", "/api/v1/search", { ["Content-Type"] = "application/json" }, body)
end
done = function(summary, latency, requests)
  io.write(string.format("  p50 %.2f ms  p95 %.2f ms  p99 %.2f ms  %.0f req/s  errors %d\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
