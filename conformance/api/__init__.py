"""Layer 0: the one model of both APIs that every other layer reads.

``endpoints``  the endpoints (API, method, path template, role, contract, ``object``, audited)
``vocabulary`` features, profiles, usage names, id prefixes, one-API parameters, stream events, opaque fields
``history``    fields OpenAI started sending after an API launched, with their role
``arguments``  the one parser of tool-call arguments
``contracts``  our JSON Schemas per profile (package data), ``validation`` and ``fastschema`` to apply them
"""
