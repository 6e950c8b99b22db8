-- wrk script for bench/relay.sh: moveApplication mutations as the token in $HP_TOKEN, at
-- $HP_RATE requests/s in all over $HP_THREADS threads, an open loop as in bench/api-page.lua.
-- $HP_MOVES names a file of lines "APPLICATION STAGE_1 STAGE_2": thread i takes the lines
-- i, i + threads, ... (so no two threads move one application) and moves each application
-- alternately to its two stages, neither of which it is in, so that every move commits.
local token = os.getenv("HP_TOKEN")
local rate = tonumber(os.getenv("HP_RATE") or "500")
local threads = tonumber(os.getenv("HP_THREADS") or "2")
local counter = 0

setup = function(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local apps = {}
local next_app = 1

init = function(args)
  local i = 0
  for line in io.lines(os.getenv("HP_MOVES")) do
    if i % threads == id then
      local app, s1, s2 = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
      if app then
        table.insert(apps, { app = app, stages = { s1, s2 }, turn = 1 })
      end
    end
    i = i + 1
  end
end

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

request = function()
  local a = apps[next_app]
  next_app = next_app % #apps + 1
  local stage = a.stages[a.turn]
  a.turn = 3 - a.turn
  local body = '{"query":"mutation Move($a: ID!, $s: ID!) { moveApplication(input: ' ..
    '{applicationId: $a, toStageId: $s}) { id } }","variables":{"a":"' .. a.app ..
    '","s":"' .. stage .. '"}}'
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

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

response = function(status, headers, body)
  if status ~= 200 or body:find('"errors"') then
    io.stderr:write("bad response " .. status .. ": " .. body:sub(1, 300) .. "\n")
  end
end
