#!/bin/bash
# scripts/diagram.sh -- regenerate docs/deal_lifecycle.{dot,svg,png} from the
# transition table (escrow.state_machine_dot()), on a throwaway cluster.
# Run after `make install`; `make diagram` does both.  A regress test
# (sql/10_deal_lifecycle.sql) fails when the committed .dot is stale.
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/cluster.sh

cluster_start >/dev/null
createdb escrow_diagram
psql -X -q -v ON_ERROR_STOP=1 -d escrow_diagram -c 'CREATE EXTENSION escrowpay'
psql -X -At -v ON_ERROR_STOP=1 -d escrow_diagram \
  -c 'SELECT escrow.state_machine_dot()' > docs/deal_lifecycle.dot
cluster_stop
dot -Tsvg docs/deal_lifecycle.dot -o docs/deal_lifecycle.svg
dot -Tpng docs/deal_lifecycle.dot -o docs/deal_lifecycle.png
echo "wrote docs/deal_lifecycle.dot, .svg and .png"
