"""Free/busy sources: where each account type's busy time comes from (see
:mod:`calgate.freebusy.registry`). The rules that turn events into busy time and busy time into
availability are domain code (:mod:`calgate.domain.freebusy`, :mod:`calgate.domain.availability`);
the service that runs a request is :mod:`calgate.services.freebusy`."""
