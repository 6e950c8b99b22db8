-- wrk script for bench/api.sh: POST one GraphQL page of 50 applications with candidate, job and
-- current stage, in id order (`orderBy: {field: ID}`, the order the README's figures were taken
-- in; the default is newest first), after a random cursor (so pages spread over the whole org), as the token in
-- $HP_TOKEN. With $HP_RATE set (requests/s in all, over $HP_THREADS wrk threads), an open loop:
-- each thread sends one request per 1000 * threads / rate ms on a fixed schedule, whatever the
-- latency (a connection that finishes early waits for the next free slot; a slot already past,
-- because every connection was busy, is sent at once), so the rate offered does not drop when
-- responses slow down, as a fixed pause after each response would.
local token = os.getenv("HP_TOKEN")
local n = tonumber(os.getenv("HP_APPLICATIONS") or "1000000")
local rate = tonumber(os.getenv("HP_RATE") or "0")
local threads = tonumber(os.getenv("HP_THREADS") or "1")
local seeded = false
-- As Relay and Apollo clients send a page: one query text, the cursor in its variables; with
-- $HP_QUERY_FORM=inline, the cursor written into the text (a new text for every page).
local inline = os.getenv("HP_QUERY_FORM") == "inline"
local selection = "pageInfo { hasNextPage endCursor } nodes { id status appliedAt " ..
  "candidate { id name } job { id title } currentStage { id name kind } }"

-- wrk runs LuaJIT: a monotonic clock in milliseconds through its FFI (os.clock is CPU time).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } hp_timespec;
int clock_gettime(int clock, hp_timespec *tp);
]]
local ts = ffi.new("hp_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", string.byte(c)) end))
end

-- $HP_TARGET=postgraphile: the same page from PostGraphile's schema over the same database
-- (bench/postgraphile.sh): the org as a `condition`, the cursor as a `filter`
-- (postgraphile-plugin-connection-filter) on the primary key's order, no token.
local postgraphile = os.getenv("HP_TARGET") == "postgraphile"
local pg_selection = "pageInfo { hasNextPage endCursor } nodes { id status appliedAt " ..
  "candidateByOrgIdAndCandidateId { id name } jobByOrgIdAndJobId { id title } " ..
  "stageByOrgIdAndCurrentStageId { id name kind } }"

-- $HP_NODES_ONLY=1: the page without `pageInfo` (bench/postgraphile.sh's second comparison:
-- PostGraphile answers `hasNextPage` with a query of its own, most of its database time).
if os.getenv("HP_NODES_ONLY") == "1" then
  selection = selection:gsub("pageInfo { hasNextPage endCursor } ", "")
  pg_selection = pg_selection:gsub("pageInfo { hasNextPage endCursor } ", "")
end

request = function()
  if not seeded then
    math.randomseed(os.time() + math.floor(os.clock() * 1e6))
    seeded = true
  end
  local after = hex("bench_app_" .. math.random(1, n))
  local body
  if postgraphile then
    body = '{"query":"query Page($after: String!) { allApplications(first: 50, orderBy: PRIMARY_KEY_ASC, ' ..
      'condition: {orgId: \\"bench\\"}, filter: {id: {greaterThan: $after}}) { ' .. pg_selection ..
      ' } }","variables":{"after":"bench_app_' .. math.random(1, n) .. '"}}'
    return wrk.format("POST", "/graphql", { ["Content-Type"] = "application/json" }, body)
  elseif inline then
    body = '{"query":"{ applications(first: 50, after: \\"' .. after .. '\\", orderBy: {field: ID}) { ' .. selection .. ' } }"}'
  else
    body = '{"query":"query Page($after: String) { applications(first: 50, after: $after, orderBy: {field: ID}) { ' ..
      selection .. ' } }","variables":{"after":"' .. after .. '"}}'
  end
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

if rate > 0 then
  local interval = 1000 * threads / rate
  local slot = nil
  delay = function()
    local now = now_ms()
    slot = (slot or now) + interval
    local wait = slot - now
    if wait < 0 then
      return 0
    end
    return wait
  end
end

response = function(status, headers, body)
  if status ~= 200 or body:find('"errors"') then
    io.stderr:write("bad response " .. status .. ": " .. body:sub(1, 300) .. "\n")
    wrk.thread:stop()
  end
end
