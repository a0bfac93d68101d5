"""The IPython/Jupyter face: ``%%recode``, its subcommands, the widget, renders, confirm boxes."""

# the folder's modules (imported one by one where used; none is imported here)
__all__ = ["batch_magic", "checks", "commands", "confirm", "confirm_box", "display", "magics",
           "marks", "render", "steer_magic", "widget", "widget_patch", "widget_state",
           "widget_static"]
