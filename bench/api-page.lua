-- wrk script for bench/api.sh: POST one GraphQL page of 50 applications with candidate, job and
-- current stage, after a random cursor (so pages spread over the whole org), as the token in
-- $HP_TOKEN. With $HP_DELAY_MS set, each connection waits that long between requests (a fixed
-- offered rate: connections x 1000 / delay requests per second).
local token = os.getenv("HP_TOKEN")
local n = tonumber(os.getenv("HP_APPLICATIONS") or "1000000")
local delay_ms = tonumber(os.getenv("HP_DELAY_MS") or "0")
local seeded = false

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", string.byte(c)) end))
end

request = function()
  if not seeded then
    math.randomseed(os.time() + math.floor(os.clock() * 1e6))
    seeded = true
  end
  local after = hex("bench_app_" .. math.random(1, n))
  local body = '{"query":"{ applications(first: 50, after: \\"' .. after ..
    '\\") { pageInfo { hasNextPage endCursor } nodes { id status appliedAt candidate { id name } job { id title } currentStage { id name kind } } } }"}'
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

if delay_ms > 0 then
  delay = function() return delay_ms end
end

response = function(status, headers, body)
  if status ~= 200 or body:find('"errors"') then
    io.stderr:write("bad response " .. status .. ": " .. body:sub(1, 300) .. "\n")
    wrk.thread:stop()
  end
end
