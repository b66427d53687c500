"""The receiving end on the user's own machine: ``gntp-receiver``.

It runs a :class:`~gntp_jupyter.gntp.receiver.Receiver` and shows what arrives as native
desktop notifications (:mod:`.display`, through ``desktop-notifier``), or prints it
(:mod:`.console`). Icons sent as bytes or URLs land in a bounded private folder
(:mod:`.icons`). :mod:`.cli` is the command. None of this is imported by the protocol
package or by the IPython extension.
"""
