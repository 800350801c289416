"""English formats where Django's read oddly on our screens (issue 17, I18N-1).

Django's English ``TIME_FORMAT`` is ``P``, which writes "noon" and "midnight" for 12:00 and 0:00
among "12:01 p.m." lines in a chat thread; "g:i A" writes every time alike ("12:00 PM", "7:01 PM").
The other formats are Django's (a format module only overrides the names it defines).
"""

TIME_FORMAT = "g:i A"
