#!/bin/sh
# One image, one process per container: the first argument names it.
#   server | bot | workers | sandbox   the product's processes (node dist/<name>/main.js)
#   token | health                     npm run token / npm run health, from the build
#   anything else                      run as given (a shell for debugging)
set -e
case "$1" in
  server | bot | workers | sandbox)
    name="$1"
    shift
    exec node --enable-source-maps "dist/$name/main.js" "$@"
    ;;
  token | health)
    name="$1"
    shift
    exec node "dist/scripts/$name.js" "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
