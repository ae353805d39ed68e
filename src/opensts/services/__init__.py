"""The AWS APIs OpenSTS serves, one module per operation family, registered by action name.

``registry`` maps (service, action) to a handler; ``context`` defines what a handler
receives. Handlers parse their parameters with :class:`opensts.wire.params.Params`,
authorize through :meth:`CallContext.authorize`, and return a plain result structure that
the wire layer renders.
"""
