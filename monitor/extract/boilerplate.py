class SiteBoilerplate: pass
