"""nginx -s reload (SIGHUP): the new configuration's repos are served, the
registry and the zone survive, nothing is logged at [alert] or worse."""

from lib.hydra_nginx import find_entry, repos_doc, wait_for, wait_up


def test_reload_adds_and_removes_static_repos(fleet, nginx):
    api = fleet.repo("acme/api")
    web = fleet.repo("acme/web")
    ngx = nginx(repos=[("acme/api", api)])
    wait_up(ngx, [api])

    ngx.render(repos=[("acme/api", api), ("acme/web", web)])
    ngx.reload()
    doc = wait_up(ngx, [api, web])
    assert len(doc["repos"]) == 2
    r = ngx.get("/api/control/status?repo=acme-web")
    assert r.status == 200 and r.json()["config"]["repo"] == "acme/web"

    ngx.render(repos=[("acme/web", web)])
    ngx.reload()
    wait_for(lambda: find_entry(repos_doc(ngx), slug="acme/api") is None,
             5, message="acme/api still listed after it was removed")
    r = ngx.get("/api/control/status?repo=acme/api")
    assert r.status == 404
    assert find_entry(repos_doc(ngx), slug="acme/web")["status"] == "up"
    ngx.assert_log_clean()


def test_reload_keeps_supervisor_registry(fleet, nginx):
    sup = fleet.supervisor()
    api = fleet.repo("acme/api", supervisor=sup)
    sup.add(api, slug="api")
    ngx = nginx(supervisor=sup)
    wait_up(ngx, [api])
    for _ in range(3):
        ngx.reload()
        r = ngx.get("/api/pipeline?repo=acme/api")
        assert r.status == 200 and r.json() == api.view("/api/pipeline")[1]
    doc = wait_up(ngx, [api])
    assert find_entry(doc, slug="api")["repo"] == "acme/api"
    ngx.assert_log_clean()
