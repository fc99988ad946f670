#!/bin/sh
# The failover proof (tests/proof/failover.sh) with 10 gateways, in
# make check; make check-proof runs it with 200.
PROOF_FAILOVER_GATEWAYS=${PROOF_FAILOVER_GATEWAYS:-10}
export PROOF_FAILOVER_GATEWAYS
exec sh "$top_srcdir/tests/proof/failover.sh"
