from django import template

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """42 s, 3 min 5 s, 2 h 10 min; a dash when there is nothing to measure yet."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
