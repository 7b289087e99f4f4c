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
