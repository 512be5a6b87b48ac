-- The limit of the aggregation rows (bench/README.md): the same fetches
-- as bench/peers/agg.lua, all in flight together, and no JSON work at
-- all: the repos' raw bodies, one after the other.  Not a valid answer;
-- what any aggregator in nginx pays before it parses a byte.

local cache = package.loaded.hydra_bench_limit

if cache == nil then
    cache = {}
    package.loaded.hydra_bench_limit = cache
end

local conf = ngx.var.agg_repos
local list = cache[conf]

if list == nil then
    list = {}
    for tag in conf:gmatch("%S+") do
        list[#list + 1] = tag
    end
    cache[conf] = list
end

local uri = ngx.var.uri
local reqs = {}
for i = 1, #list do
    reqs[i] = { "/_repo/" .. list[i] .. uri }
end

local replies = { ngx.location.capture_multi(reqs) }
local bodies = {}
for i = 1, #replies do
    if replies[i].status ~= 200 then
        ngx.status = 502
        ngx.print("repo " .. list[i] .. ": http " .. replies[i].status)
        return
    end
    bodies[i] = replies[i].body
end

ngx.header["Content-Type"] = "application/json"
ngx.print(bodies)
