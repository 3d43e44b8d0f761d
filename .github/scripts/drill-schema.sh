#!/usr/bin/env bash
# The drill database's schema, sourced by the rollback drill's steps: `drill_schema CONTAINER`
# prints it (pg_dump --schema-only, without pg_dump's per-run \restrict/\unrestrict keys). Both
# sides of the before/after comparison use this one function, so they are dumped the same way.
drill_schema() { # postgres service container id
  docker exec -e PGPASSWORD=drill-only-password "$1" pg_dump -h 127.0.0.1 -U postgres --schema-only --no-owner drill | grep -v '^\\\(un\)\?restrict '
}
